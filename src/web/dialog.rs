//! The break-glass dialog: a native `<dialog>` built with DOM APIs only
//! (every text goes in through `textContent`, never markup).
//!
//! Accessibility: each field has a `<label>`; hints, live counts and errors
//! are tied to their field with `aria-describedby`; errors set `aria-invalid`
//! and are announced through a `role="alert"` region; `showModal` moves focus
//! into the dialog (onto the reason code), Escape cancels, and focus returns
//! to the element that opened it. Every string can be overridden by the host
//! for localisation ([`DialogStrings`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Document, Element, HtmlDialogElement, HtmlElement};

use super::error::WebError;
use super::listener::Listener;
use crate::breakglass::{BreakGlassRequest, Refusal};
use crate::page::{BreakGlassForm, DialogStrings};

/// Which form field an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The reason code select.
    Code,
    /// The reason text.
    Text,
    /// The optional context.
    Context,
    /// The incident reference.
    IncidentRef,
    /// The request as a whole (the session, the platform).
    Form,
}

/// What the user typed, untrimmed (the core trims and judges).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Justification {
    code: String,
    text: String,
    context: String,
    incident_ref: String,
}

impl Justification {
    /// As the core's request: empty optional fields are absent.
    fn request(&self) -> BreakGlassRequest {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        BreakGlassRequest {
            reason_code: self.code.clone(),
            reason_text: self.text.clone(),
            context: opt(&self.context),
            incident_ref: opt(&self.incident_ref),
        }
    }
}

impl Field {
    /// The field a refusal's request pointer names.
    fn of(pointer: &str) -> Self {
        match pointer {
            "/reasonCode" => Field::Code,
            "/reasonText" => Field::Text,
            "/context" => Field::Context,
            "/incidentRef" => Field::IncidentRef,
            _ => Field::Form,
        }
    }
}

/// How the dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The user confirmed a request that passed `check`.
    Confirmed(BreakGlassRequest),
    /// The user cancelled (button, Escape, or closed otherwise).
    Cancelled,
    /// The refusal for an unauthorised role was shown and closed.
    Refused,
}

/// The core's validation of a request: every problem, in form order.
pub type Check = Box<dyn Fn(&BreakGlassRequest) -> Vec<Refusal>>;

/// What the dialog needs to know.
pub struct Ask<'a> {
    /// The record's id or display label (shown as text).
    pub record: &'a str,
    /// The role, its rights and the form's limits, from the core.
    pub form: &'a BreakGlassForm,
    /// The core's validation of what was typed.
    pub check: Check,
}

/// Distinguishes the element ids of successive dialogs.
static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Opens the dialog and resolves when it closes.
pub async fn ask(strings: &DialogStrings, ask: Ask<'_>) -> Result<Answer, WebError> {
    let rules = ask.form;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or(WebError::NoWindow)?;
    let body = doc.body().ok_or(WebError::NoWindow)?;
    let opener = doc.active_element();
    let n = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = |part: &str| format!("sealtrail-bg{n}-{part}");
    let fill = |s: &str, count: usize, max: u32| {
        s.replace("{record}", ask.record)
            .replace("{role}", &rules.role)
            .replace("{count}", &count.to_string())
            .replace("{min}", &rules.reason_min.to_string())
            .replace("{max}", &max.to_string())
    };
    let dom = |e: JsValue| {
        WebError::Core(format!(
            "could not build the dialog: {}",
            super::error::describe(&e)
        ))
    };

    let dialog: HtmlDialogElement = doc.create_element("dialog").map_err(dom)?.unchecked_into();
    dialog.set_class_name("sealtrail-dialog");
    set(&dialog, "aria-labelledby", &id("title")).map_err(dom)?;
    set(&dialog, "aria-describedby", &id("intro")).map_err(dom)?;
    let heading = child(&doc, &dialog, "h2", None).map_err(dom)?;
    heading.set_id(&id("title"));
    let intro = child(&doc, &dialog, "p", None).map_err(dom)?;
    intro.set_id(&id("intro"));

    let answer: Rc<RefCell<Answer>> = Rc::new(RefCell::new(Answer::Cancelled));
    let mut listeners: Vec<Listener> = Vec::new();

    if !rules.authorised {
        heading.set_text_content(Some(&fill(&strings.unauthorised_title, 0, 0)));
        intro.set_text_content(Some(&fill(&strings.unauthorised, 0, 0)));
        set(&intro, "role", "alert").map_err(dom)?;
        *answer.borrow_mut() = Answer::Refused;
        let close = button(&doc, &dialog, &strings.close, "button").map_err(dom)?;
        set(&close, "autofocus", "").map_err(dom)?;
        let d = dialog.clone();
        listeners.push(Listener::new(&close, "click", move |_| d.close()).map_err(dom)?);
    } else {
        heading.set_text_content(Some(&fill(&strings.title, 0, 0)));
        intro.set_text_content(Some(&fill(&strings.intro, 0, 0)));
        let form = child(&doc, &dialog, "form", None).map_err(dom)?;
        set(&form, "novalidate", "").map_err(dom)?;

        // Reason code.
        let code_row = child(&doc, &form, "div", Some("sealtrail-field")).map_err(dom)?;
        label(&doc, &code_row, &strings.reason_code, &id("code")).map_err(dom)?;
        let select: web_sys::HtmlSelectElement = child(&doc, &code_row, "select", None)
            .map_err(dom)?
            .unchecked_into();
        select.set_id(&id("code"));
        select.set_required(true);
        set(&select, "autofocus", "").map_err(dom)?;
        let blank = doc.create_element("option").map_err(dom)?;
        set(&blank, "value", "").map_err(dom)?;
        blank.set_text_content(Some(&strings.reason_code_choose));
        select.append_child(&blank).map_err(dom)?;
        for (code, text) in &rules.reason_codes {
            let o = doc.create_element("option").map_err(dom)?;
            set(&o, "value", code).map_err(dom)?;
            o.set_text_content(Some(text));
            select.append_child(&o).map_err(dom)?;
        }
        let code_err = error_slot(&doc, &code_row, &id("code-error")).map_err(dom)?;
        set(&select, "aria-describedby", &id("code-error")).map_err(dom)?;

        // Reason text with its live count.
        let text_row = child(&doc, &form, "div", Some("sealtrail-field")).map_err(dom)?;
        label(&doc, &text_row, &strings.reason_text, &id("text")).map_err(dom)?;
        let text: web_sys::HtmlTextAreaElement = child(&doc, &text_row, "textarea", None)
            .map_err(dom)?
            .unchecked_into();
        text.set_id(&id("text"));
        text.set_required(true);
        text.set_rows(4);
        let hint = child(&doc, &text_row, "p", Some("sealtrail-hint")).map_err(dom)?;
        hint.set_id(&id("text-hint"));
        hint.set_text_content(Some(&fill(&strings.reason_hint, 0, rules.reason_max)));
        let count = child(&doc, &text_row, "p", Some("sealtrail-count")).map_err(dom)?;
        count.set_id(&id("text-count"));
        count.set_text_content(Some(&fill(&strings.count, 0, rules.reason_max)));
        let text_err = error_slot(&doc, &text_row, &id("text-error")).map_err(dom)?;
        set(
            &text,
            "aria-describedby",
            &format!(
                "{} {} {}",
                id("text-hint"),
                id("text-count"),
                id("text-error")
            ),
        )
        .map_err(dom)?;

        // Optional context with its live count.
        let ctx_row = child(&doc, &form, "div", Some("sealtrail-field")).map_err(dom)?;
        label(&doc, &ctx_row, &strings.context, &id("context")).map_err(dom)?;
        let context: web_sys::HtmlTextAreaElement = child(&doc, &ctx_row, "textarea", None)
            .map_err(dom)?
            .unchecked_into();
        context.set_id(&id("context"));
        context.set_rows(3);
        let ctx_count = child(&doc, &ctx_row, "p", Some("sealtrail-count")).map_err(dom)?;
        ctx_count.set_id(&id("context-count"));
        ctx_count.set_text_content(Some(&fill(&strings.context_hint, 0, rules.context_max)));
        let ctx_err = error_slot(&doc, &ctx_row, &id("context-error")).map_err(dom)?;
        set(
            &context,
            "aria-describedby",
            &format!("{} {}", id("context-count"), id("context-error")),
        )
        .map_err(dom)?;

        // Incident reference.
        let inc_row = child(&doc, &form, "div", Some("sealtrail-field")).map_err(dom)?;
        label(&doc, &inc_row, &strings.incident_ref, &id("incident")).map_err(dom)?;
        let incident: web_sys::HtmlInputElement = child(&doc, &inc_row, "input", None)
            .map_err(dom)?
            .unchecked_into();
        incident.set_id(&id("incident"));
        incident.set_type("text");
        set(&incident, "autocomplete", "off").map_err(dom)?;
        let inc_hint = child(&doc, &inc_row, "p", Some("sealtrail-hint")).map_err(dom)?;
        inc_hint.set_id(&id("incident-hint"));
        inc_hint.set_text_content(Some(&strings.incident_hint));
        let inc_err = error_slot(&doc, &inc_row, &id("incident-error")).map_err(dom)?;
        set(
            &incident,
            "aria-describedby",
            &format!("{} {}", id("incident-hint"), id("incident-error")),
        )
        .map_err(dom)?;

        // Announced summary, then the buttons.
        let summary = child(&doc, &form, "p", Some("sealtrail-summary")).map_err(dom)?;
        set(&summary, "role", "alert").map_err(dom)?;
        let actions = child(&doc, &form, "div", Some("sealtrail-actions")).map_err(dom)?;
        let cancel = button(&doc, &actions, &strings.cancel, "button").map_err(dom)?;
        button(&doc, &actions, &strings.confirm, "submit").map_err(dom)?;

        // Live counts (characters after trimming, as the rule counts them).
        let (t, c, s, max) = (
            text.clone(),
            count.clone(),
            strings.count.clone(),
            rules.reason_max,
        );
        let fill_count = move |tmpl: &str, n: usize, m: u32| {
            tmpl.replace("{count}", &n.to_string())
                .replace("{max}", &m.to_string())
        };
        let fc = fill_count;
        listeners.push(
            Listener::new(&text, "input", move |_| {
                c.set_text_content(Some(&fc(&s, t.value().trim().chars().count(), max)));
            })
            .map_err(dom)?,
        );
        let (t, c, s, max) = (
            context.clone(),
            ctx_count.clone(),
            strings.count.clone(),
            rules.context_max,
        );
        listeners.push(
            Listener::new(&context, "input", move |_| {
                c.set_text_content(Some(&fill_count(&s, t.value().trim().chars().count(), max)));
            })
            .map_err(dom)?,
        );

        let d = dialog.clone();
        listeners.push(Listener::new(&cancel, "click", move |_| d.close()).map_err(dom)?);

        // Confirm: ask the core; show its first complaint on its field.
        let fields: [(Field, HtmlElement, Element); 4] = [
            (Field::Code, select.clone().unchecked_into(), code_err),
            (Field::Text, text.clone().unchecked_into(), text_err),
            (Field::Context, context.clone().unchecked_into(), ctx_err),
            (
                Field::IncidentRef,
                incident.clone().unchecked_into(),
                inc_err,
            ),
        ];
        let check = ask.check;
        let fix = strings.fix_errors.clone();
        let choose = strings.reason_code_missing.clone();
        let (d, a) = (dialog.clone(), answer.clone());
        listeners.push(
            Listener::new(&form, "submit", move |e| {
                e.prevent_default();
                let j = Justification {
                    code: select.value(),
                    text: text.value(),
                    context: context.value(),
                    incident_ref: incident.value(),
                };
                for (_, input, slot) in &fields {
                    let _ = input.remove_attribute("aria-invalid");
                    slot.set_text_content(None);
                }
                let mut problems: Vec<(Field, String)> = check(&j.request())
                    .iter()
                    .map(|r| (Field::of(r.pointer()), r.to_string()))
                    .collect();
                if j.code.is_empty() {
                    problems.retain(|(f, _)| *f != Field::Code);
                    problems.insert(0, (Field::Code, choose.clone()));
                }
                if problems.is_empty() {
                    summary.set_text_content(None);
                    *a.borrow_mut() = Answer::Confirmed(j.request());
                    d.close();
                    return;
                }
                // Every field with its own message; focus the first; one
                // announcement naming them all.
                let mut first = true;
                for (field, message) in &problems {
                    if let Some((_, input, slot)) = fields.iter().find(|(f, _, _)| f == field) {
                        let _ = input.set_attribute("aria-invalid", "true");
                        let old = slot.text_content().unwrap_or_default();
                        let text = if old.is_empty() {
                            message.clone()
                        } else {
                            format!("{old} {message}")
                        };
                        slot.set_text_content(Some(&text));
                        if first {
                            let _ = input.focus();
                            first = false;
                        }
                    }
                }
                let all: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
                summary.set_text_content(Some(&format!("{fix} {}", all.join(" "))));
            })
            .map_err(dom)?,
        );
    }

    body.append_child(&dialog).map_err(dom)?;
    let closed = Rc::new(Cell::new(false));
    let mut wake = None;
    let promise = js_sys::Promise::new(&mut |resolve, _| wake = Some(resolve));
    let done = closed.clone();
    listeners.push(
        Listener::new(&dialog, "close", move |_| {
            done.set(true);
            if let Some(w) = &wake {
                let _ = w.call0(&JsValue::UNDEFINED);
            }
        })
        .map_err(dom)?,
    );
    if let Err(e) = dialog.show_modal() {
        dialog.remove();
        return Err(dom(e));
    }
    let _ = JsFuture::from(promise).await;
    drop(listeners);
    dialog.remove();
    if let Some(el) = opener.and_then(|o| o.dyn_into::<HtmlElement>().ok()) {
        let _ = el.focus();
    }
    let out = answer.borrow().clone();
    Ok(out)
}

fn set(el: &Element, name: &str, value: &str) -> Result<(), JsValue> {
    el.set_attribute(name, value)
}

/// A new `tag` appended to `parent`, with `class` if given.
fn child(
    doc: &Document,
    parent: &Element,
    tag: &str,
    class: Option<&str>,
) -> Result<Element, JsValue> {
    let el = doc.create_element(tag)?;
    if let Some(c) = class {
        el.set_class_name(c);
    }
    parent.append_child(&el)?;
    Ok(el)
}

fn label(doc: &Document, parent: &Element, text: &str, for_id: &str) -> Result<(), JsValue> {
    let l = child(doc, parent, "label", None)?;
    set(&l, "for", for_id)?;
    l.set_text_content(Some(text));
    Ok(())
}

fn button(doc: &Document, parent: &Element, text: &str, kind: &str) -> Result<Element, JsValue> {
    let b = child(doc, parent, "button", None)?;
    set(&b, "type", kind)?;
    b.set_text_content(Some(text));
    Ok(b)
}

/// An empty error paragraph with `id`, filled when its field is wrong.
fn error_slot(doc: &Document, parent: &Element, id: &str) -> Result<Element, JsValue> {
    let p = child(doc, parent, "p", Some("sealtrail-error"))?;
    p.set_id(id);
    Ok(p)
}
