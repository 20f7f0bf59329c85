//! Evaluating the policy's conditions ([`crate::policy::condition`]) for a
//! session, a time and (for rules that read it) a record.
//!
//! Three-valued: a test of an attribute that is missing or holds the wrong
//! kind of value is [`Truth::Unknown`], naming the attribute; `not` of
//! unknown is unknown, `allOf` is no as soon as one part is no, `anyOf` yes
//! as soon as one part is yes. A rule applies only on [`Truth::Yes`], so
//! whatever is missing never allows.

use serde_json::Value;

use crate::policy::clock::LocalClock;
use crate::policy::condition::{weekday_name, Attribute, CondId, Literal, Node, Operand, Test};
use crate::policy::LocalTime;
use crate::session::Session;
use crate::Timestamp;

/// The outcome of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Truth {
    /// It holds.
    Yes,
    /// It does not; the node that decided so.
    No(CondId),
    /// It cannot be evaluated: the node, and the attribute missing or of the wrong kind.
    Unknown(CondId, Attribute),
}

/// What conditions read: the session, the time and, once known, the record's attributes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) session: &'a Session,
    pub(crate) now: Timestamp,
    /// `None` without the zone database.
    pub(crate) clock: Option<LocalClock>,
    /// The record's attributes ([`Attribute::RECORD`] order); `None`: no record.
    pub(crate) record: Option<&'a [Option<Value>]>,
}

/// A value an attribute or literal holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val<'a> {
    Text(&'a str),
    Flag(bool),
    List(&'a [Value]),
    Instant(Timestamp),
    Clock(LocalTime),
}

impl Facts<'_> {
    /// Evaluates condition `id` of `nodes`.
    pub(crate) fn eval(&self, nodes: &crate::policy::condition::Conditions, id: CondId) -> Truth {
        let Some(node) = nodes.node(id) else {
            return Truth::No(id);
        };
        match node {
            Node::All(parts) => {
                let mut unknown = None;
                for &p in parts {
                    match self.eval(nodes, p) {
                        Truth::Yes => {}
                        no @ Truth::No(_) => return no,
                        u @ Truth::Unknown(..) => {
                            unknown.get_or_insert(u);
                        }
                    }
                }
                unknown.unwrap_or(Truth::Yes)
            }
            Node::Any(parts) => {
                let (mut unknown, mut no) = (None, None);
                for &p in parts {
                    match self.eval(nodes, p) {
                        Truth::Yes => return Truth::Yes,
                        n @ Truth::No(_) => {
                            no.get_or_insert(n);
                        }
                        u @ Truth::Unknown(..) => {
                            unknown.get_or_insert(u);
                        }
                    }
                }
                unknown.or(no).unwrap_or(Truth::No(id))
            }
            Node::Not(inner) => match self.eval(nodes, *inner) {
                Truth::Yes => Truth::No(id),
                Truth::No(_) => Truth::Yes,
                u @ Truth::Unknown(..) => u,
            },
            Node::Test(attr, test) => self.test(id, *attr, test),
            Node::Consent(note_type) => self.consent(id, note_type),
        }
    }

    fn test<'s>(&'s self, id: CondId, attr: Attribute, test: &'s Test) -> Truth {
        let Some(x) = self.value(attr) else {
            return Truth::Unknown(id, attr);
        };
        let operand = |o: &'s Operand| -> Result<Val<'s>, Truth> {
            match o {
                Operand::Literal(l) => Ok(literal(l)),
                Operand::Attribute(b) => self.value(*b).ok_or(Truth::Unknown(id, *b)),
            }
        };
        let verdict = |holds: bool| if holds { Truth::Yes } else { Truth::No(id) };
        let ill = Truth::Unknown(id, attr);
        let result = (|| -> Result<Truth, Truth> {
            Ok(match test {
                Test::Equals(o) => {
                    let y = operand(o)?;
                    same_kind(x, y).ok_or(ill)?;
                    verdict(x == y)
                }
                Test::OneOf(items) => {
                    let items: Vec<Val<'_>> = items.iter().map(literal).collect();
                    if !items.iter().all(|y| same_kind(x, *y).is_some()) {
                        return Err(ill);
                    }
                    verdict(items.contains(&x))
                }
                Test::Contains(o) => {
                    let Val::List(list) = x else { return Err(ill) };
                    let Val::Text(y) = operand(o)? else {
                        return Err(ill);
                    };
                    let mut found = false;
                    for item in list {
                        found |= item.as_str().ok_or(ill)? == y;
                    }
                    verdict(found)
                }
                Test::Within(a, b) => {
                    let (a, b) = (operand(a)?, operand(b)?);
                    let after_from = order(x, a).ok_or(ill)?.is_ge();
                    let before_until = order(x, b).ok_or(ill)?.is_lt();
                    // A time-of-day window may wrap past midnight (`22:00` to `07:00`).
                    let wraps = matches!((a, b), (Val::Clock(f), Val::Clock(u)) if f > u);
                    verdict(if wraps {
                        after_from || before_until
                    } else {
                        after_from && before_until
                    })
                }
                Test::Before(o) => verdict(order(x, operand(o)?).ok_or(ill)?.is_lt()),
                Test::After(o) => verdict(order(x, operand(o)?).ok_or(ill)?.is_gt()),
            })
        })();
        result.unwrap_or_else(|t| t)
    }

    /// Whether the record's consents show `note_type` to this session now.
    fn consent(&self, id: CondId, note_type: &str) -> Truth {
        let unknown = Truth::Unknown(id, Attribute::RecordConsents);
        let Some(Val::List(consents)) = self.value(Attribute::RecordConsents) else {
            return unknown;
        };
        let s = self.session;
        let lists = |c: &Value, member: &str, want: Option<&str>| {
            let Some(want) = want else { return false };
            c.get(member)
                .and_then(Value::as_array)
                .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(want)))
        };
        let shown = consents.iter().any(|c| {
            let in_force = match c.get("until") {
                None => true,
                Some(Value::String(t)) => Timestamp::parse(t).is_ok_and(|t| self.now < t),
                Some(_) => false,
            };
            in_force
                && lists(c, "noteTypes", Some(note_type))
                && (lists(c, "users", Some(&s.user_id))
                    || lists(c, "roles", Some(&s.role))
                    || lists(c, "teams", s.team.as_deref()))
        });
        if shown {
            Truth::Yes
        } else {
            Truth::No(id)
        }
    }

    /// The value of `attr`, `None` when missing or of the wrong kind.
    fn value(&self, attr: Attribute) -> Option<Val<'_>> {
        use Attribute as A;
        let s = self.session;
        fn text(v: &Option<String>) -> Option<Val<'_>> {
            v.as_deref().map(Val::Text)
        }
        let clock = self.clock;
        match attr {
            A::SessionUserId => Some(Val::Text(&s.user_id)),
            A::SessionRole => Some(Val::Text(&s.role)),
            A::SessionAuthStrength => Some(Val::Text(&s.auth_strength)),
            A::SessionTeam => text(&s.team),
            A::SessionFacility => text(&s.facility),
            A::SessionUnit => text(&s.unit),
            A::SessionNetwork => text(&s.network),
            A::SessionDevice => text(&s.device),
            A::SessionSignInMethod => text(&s.sign_in_method),
            A::TimeNow => Some(Val::Instant(self.now)),
            A::TimeWeekday => clock.map(|c| Val::Text(weekday_name(c.weekday))),
            A::TimeLocalTime => clock.map(|c| Val::Clock(c.time)),
            A::TimeBusinessHours => clock.map(|c| Val::Flag(c.business)),
            _ => {
                let slot = Attribute::RECORD.iter().position(|a| *a == attr)?;
                let v = self.record?.get(slot)?.as_ref()?;
                let kind = match v {
                    Value::String(t) => Val::Text(t),
                    Value::Bool(b) => Val::Flag(*b),
                    Value::Array(items) => Val::List(items),
                    _ => return None,
                };
                // A list attribute holding a single string is still a list
                // of one to nobody: kinds must match what the policy expects.
                let expected_list = matches!(
                    attr,
                    A::RecordTreatingTeam | A::RecordExcludedStaff | A::RecordConsents
                );
                let flag = attr == A::RecordRestricted;
                match kind {
                    Val::List(_) if expected_list => Some(kind),
                    Val::Flag(_) if flag => Some(kind),
                    Val::Text(_) if !expected_list && !flag => Some(kind),
                    _ => None,
                }
            }
        }
    }
}

fn literal(l: &Literal) -> Val<'_> {
    match l {
        Literal::Text(t) => Val::Text(t),
        Literal::Flag(b) => Val::Flag(*b),
        Literal::Instant(t) => Val::Instant(*t),
        Literal::Clock(c) => Val::Clock(*c),
    }
}

/// `Some` when `a` and `b` are of one kind.
fn same_kind(a: Val<'_>, b: Val<'_>) -> Option<()> {
    (std::mem::discriminant(&a) == std::mem::discriminant(&b)).then_some(())
}

/// How `a` compares with `b`, for times and times of day.
fn order(a: Val<'_>, b: Val<'_>) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Instant(a), Val::Instant(b)) => Some(a.cmp(&b)),
        (Val::Clock(a), Val::Clock(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "condition_props.rs"]
mod props;
