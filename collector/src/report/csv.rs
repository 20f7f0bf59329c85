//! The report as CSV (RFC 4180), in long form: one row per figure,
//! `question,item,measure,value`, so the five questions fit one table a
//! spreadsheet pivots. A cell that a spreadsheet would read as a formula
//! (starting `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with
//! `'`: reason text is what staff typed.

use std::fmt::Display;

use super::build::{CaseRow, Report};

/// The header row.
const HEADER: &str = "question,item,measure,value\r\n";

/// The report as CSV text.
pub fn render(r: &Report) -> String {
    let mut out = Csv(String::from(HEADER));
    let p = &r.period;
    out.row("period", "", "from", &p.from);
    out.row("period", "", "to", &p.to);
    out.row("period", "", "bounded by", p.by);
    out.row("period", "", "generated", &r.generated);
    let t = &r.totals;
    for (measure, v) in [
        ("break-glass attempts", t.break_glass),
        ("break-glass granted", t.granted),
        ("staff using break-glass", t.staff),
        ("cases opened", t.cases),
        ("cases resolved", t.resolved),
        ("cases open", t.open),
        ("found inappropriate", t.inappropriate),
    ] {
        out.row("totals", "", measure, v);
    }
    for s in &r.staff {
        let who = match &s.name {
            Some(name) => format!("{} ({name}, {})", s.id, s.role),
            None => format!("{} ({})", s.id, s.role),
        };
        for (measure, v) in [
            ("uses", s.uses),
            ("granted", s.granted),
            ("refused", s.refused),
            ("records", s.records),
            ("reviewed", s.reviewed),
            ("inappropriate", s.inappropriate),
        ] {
            out.row("1", &who, measure, v);
        }
    }
    for c in &r.reasons.by_code {
        out.row(
            "2",
            c.code.as_deref().unwrap_or("(no reason asked)"),
            "uses",
            c.uses,
        );
    }
    for u in &r.reasons.uses {
        let fields = [
            ("time", u.time.as_deref()),
            ("received", Some(u.received.as_str())),
            ("staff", Some(u.staff_id.as_str())),
            ("record", u.record_id.as_deref()),
            ("outcome", Some(u.outcome.as_str())),
            ("reason code", u.reason_code.as_deref()),
            ("reason text", u.reason_text.as_deref()),
            ("context", u.context.as_deref()),
            ("exemption", u.exemption.as_deref()),
            ("review", Some(u.review.as_str())),
            ("review outcome", u.review_outcome.as_deref()),
        ];
        for (measure, v) in fields {
            if let Some(v) = v {
                out.row("2", &u.case, measure, v);
            }
        }
    }
    out.row(
        "3",
        "",
        "accesses with demographics",
        r.demographics.accesses,
    );
    for g in &r.demographics.groups {
        let item = format!("{}={}", g.attribute, g.value);
        out.row("3", &item, "accesses", g.accesses);
        out.row("3", &item, "records", g.records);
        out.row("3", &item, "record share", g.record_share);
        out.row("3", &item, "break-glass", g.break_glass);
        out.row("3", &item, "break-glass records", g.break_glass_records);
        if let Some(v) = g.break_glass_share {
            out.row("3", &item, "break-glass share", v);
        }
        if let Some(v) = g.ratio {
            out.row("3", &item, "ratio", v);
        }
    }
    for c in &r.demographics.targeting {
        case_rows(&mut out, "3", c);
    }
    let o = &r.outcomes;
    for (measure, v) in [
        ("cases", o.cases),
        ("new", o.new),
        ("acknowledged", o.acknowledged),
        ("under investigation", o.under_investigation),
        ("resolved", o.resolved),
        ("overdue", o.overdue),
        ("break-glass reviews", o.break_glass_reviews),
        ("break-glass reviewed", o.break_glass_reviewed),
    ] {
        out.row("4", "", measure, v);
    }
    for b in &o.by_outcome {
        out.row("4", &b.id, "resolved with", b.cases);
    }
    for c in &r.inappropriate {
        case_rows(&mut out, "5", c);
    }
    out.0
}

fn case_rows(out: &mut Csv, question: &str, c: &CaseRow) {
    let fields = [
        ("kind", Some(c.kind.as_str())),
        ("rule", Some(c.rule.as_str())),
        ("severity", Some(c.severity)),
        ("staff", c.actor_id.as_deref()),
        ("record", c.record_id.as_deref()),
        ("summary", Some(c.summary.as_str())),
        ("opened", Some(c.opened.as_str())),
        ("state", Some(c.state.as_str())),
        ("outcome", c.outcome_label.as_deref()),
        ("resolved", c.resolved.as_deref()),
    ];
    for (measure, v) in fields {
        if let Some(v) = v {
            out.row(question, &c.id, measure, v);
        }
    }
}

struct Csv(String);

impl Csv {
    fn row(&mut self, question: &str, item: &str, measure: &str, value: impl Display) {
        let value = value.to_string();
        for (i, cell) in [question, item, measure, value.as_str()].iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            push_cell(&mut self.0, cell);
        }
        self.0.push_str("\r\n");
    }
}

/// One cell, quoted when it must be, defused when a spreadsheet would run it.
fn push_cell(out: &mut String, cell: &str) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || cell.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for ch in cell.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> String {
        let mut out = String::new();
        push_cell(&mut out, s);
        out
    }

    #[test]
    fn cells_are_quoted_when_needed_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "\"'+1\"");
        assert_eq!(cell("-1"), "\"'-1\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell(""), "");
    }
}
