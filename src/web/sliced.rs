//! Large values across the boundary without holding the main thread: a
//! record of 100,000 notes is tens of megabytes of JSON, and one
//! `JSON.stringify`, parse or `JSON.parse` of it is a task of hundreds of
//! milliseconds. Here containers near the root, and wide ones anywhere, are
//! converted child by child, each child as JSON text (the same conversion as
//! [`super::interop`]), with a [`Slicer`] yielding to the page between
//! children. The result is the same value. Values going out are taken apart
//! as they are converted, so freeing them does not make one long task either.

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use super::error::{describe, WebError};
use super::interop::{self, to_js, value_from_text};
use super::timer::Slicer;
use crate::page::SealedRecord;

/// Containers with at least this many children are converted child by child.
const WIDE: usize = 256;
/// Containers this close to the root are converted child by child.
const SHALLOW: usize = 2;
/// Field decisions converted per `JSON.parse`.
const DECISIONS_PER_PARSE: usize = 512;

/// A JS value as JSON, a part at a time; errors name the offending member
/// as a JSON Pointer under `at`, as [`interop::value_from_js`] does.
pub async fn value_from_js(
    value: &JsValue,
    at: &str,
    slicer: &mut Slicer,
) -> Result<Value, WebError> {
    if !split(value, 0)? {
        return interop::value_from_js(value, at);
    }
    let mut stack = vec![In::open(value.clone(), at.to_owned())];
    loop {
        let depth = stack.len();
        let Some(top) = stack.last_mut() else {
            return Err(WebError::Core("nothing was converted".into()));
        };
        let Some((key, child)) = top.next_child()? else {
            let done = stack.pop().map(In::finish);
            match (stack.last_mut(), done) {
                (Some(parent), Some((key, v))) => parent.put(key, v),
                (None, Some((_, v))) => return Ok(v),
                _ => return Err(WebError::Core("nothing was converted".into())),
            }
            continue;
        };
        let pointer = crate::pointer::push(&top.pointer, &key);
        if split(&child, depth)? {
            let mut frame = In::open(child, pointer);
            frame.key = key;
            stack.push(frame);
        } else if let Some(v) = leaf_from_js(&child, &pointer, top.is_array)? {
            top.put(key, v);
        }
        slicer.tick().await;
    }
}

/// `value` as a JS value, a part at a time. It is taken apart as it goes,
/// so freeing a large value is spread over the slices too.
pub async fn value_into_js(value: Value, slicer: &mut Slicer) -> Result<JsValue, WebError> {
    if !wide_or_near(&value, 0) {
        return to_js(&value);
    }
    let root = new_container(&value);
    let mut stack = vec![(root.clone(), children(value))];
    while let Some((target, it)) = stack.last_mut() {
        let Some((key, child)) = it.next() else {
            stack.pop();
            continue;
        };
        let target = target.clone();
        let converted = if wide_or_near(&child, stack.len()) {
            let c = new_container(&child);
            stack.push((c.clone(), children(child)));
            c
        } else {
            to_js(&child)?
        };
        put_js(&target, key.as_deref(), &converted)?;
        slicer.tick().await;
    }
    Ok(root)
}

/// Sealed records as JS values (`SealedRecord[]`), a part at a time: the
/// view as [`value_into_js`] (freed as converted), the decisions a few
/// hundred per `JSON.parse`.
pub async fn sealed_into_js(
    records: Vec<SealedRecord>,
    slicer: &mut Slicer,
) -> Result<Vec<JsValue>, WebError> {
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let o = js_sys::Object::new();
        set(&o, "recordId", &JsValue::from_str(&r.record_id))?;
        set(&o, "view", &value_into_js(r.view, slicer).await?)?;
        let decisions = js_sys::Array::new();
        let mut rest = r.decisions.iter();
        loop {
            let chunk: Vec<_> = rest.by_ref().take(DECISIONS_PER_PARSE).collect();
            if chunk.is_empty() {
                break;
            }
            let parsed: js_sys::Array = to_js(&chunk)?.unchecked_into();
            for d in parsed.iter() {
                decisions.push(&d);
            }
            slicer.tick().await;
        }
        set(&o, "decisions", &decisions)?;
        set(&o, "event", &to_js(&r.event)?)?;
        if let Some(b) = &r.bounded {
            set(&o, "bounded", &to_js(b)?)?;
        }
        out.push(o.into());
    }
    Ok(out)
}

/// A JS container being read.
struct In {
    js: JsValue,
    is_array: bool,
    keys: Vec<String>,
    next: usize,
    /// Its key in its parent.
    key: String,
    pointer: String,
    out: Container,
}

enum Container {
    Object(Map<String, Value>),
    Array(Vec<Value>),
}

impl In {
    fn open(js: JsValue, pointer: String) -> Self {
        let is_array = js_sys::Array::is_array(&js);
        let keys = if is_array {
            Vec::new()
        } else {
            js_sys::Object::keys(js.unchecked_ref::<js_sys::Object>())
                .iter()
                .filter_map(|k| k.as_string())
                .collect()
        };
        Self {
            out: if is_array {
                Container::Array(Vec::new())
            } else {
                Container::Object(Map::new())
            },
            js,
            is_array,
            keys,
            next: 0,
            key: String::new(),
            pointer,
        }
    }

    fn len(&self) -> usize {
        if self.is_array {
            let a: &js_sys::Array = self.js.unchecked_ref();
            a.length() as usize
        } else {
            self.keys.len()
        }
    }

    fn next_child(&mut self) -> Result<Option<(String, JsValue)>, WebError> {
        if self.next >= self.len() {
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        let key = if self.is_array {
            i.to_string()
        } else {
            self.keys.get(i).cloned().unwrap_or_default()
        };
        let child = js_sys::Reflect::get(&self.js, &JsValue::from_str(&key)).map_err(|e| {
            WebError::input(crate::pointer::push(&self.pointer, &key), describe(&e))
        })?;
        Ok(Some((key, child)))
    }

    fn put(&mut self, key: String, v: Value) {
        match &mut self.out {
            Container::Object(m) => {
                m.insert(key, v);
            }
            Container::Array(a) => a.push(v),
        }
    }

    fn finish(self) -> (String, Value) {
        let v = match self.out {
            Container::Object(m) => Value::Object(m),
            Container::Array(a) => Value::Array(a),
        };
        (self.key, v)
    }
}

/// Whether `v` (at `depth`) is a plain array or object to read child by
/// child: near the root or wide. Anything else (`Date`, objects with
/// `toJSON`) goes through `JSON.stringify` whole, as [`interop::value_from_js`] would.
fn split(v: &JsValue, depth: usize) -> Result<bool, WebError> {
    if js_sys::Array::is_array(v) {
        let a: &js_sys::Array = v.unchecked_ref();
        return Ok(depth < SHALLOW || a.length() as usize >= WIDE);
    }
    if !v.is_object() || v.is_function() {
        return Ok(false);
    }
    let proto: JsValue = js_sys::Object::get_prototype_of(v).into();
    let object_proto: JsValue = js_sys::Object::get_prototype_of(&js_sys::Object::new()).into();
    let plain = proto.is_null() || proto == object_proto;
    let to_json = js_sys::Reflect::has(v, &"toJSON".into()).unwrap_or(true);
    if !plain || to_json {
        return Ok(false);
    }
    Ok(depth < SHALLOW
        || js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>()).length() as usize >= WIDE)
}

/// One child read whole. `None` where `JSON.stringify` drops it (an
/// `undefined` or function member); in an array that is `null`.
fn leaf_from_js(v: &JsValue, at: &str, in_array: bool) -> Result<Option<Value>, WebError> {
    let text = js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string());
    match text {
        Some(t) => value_from_text(&t, at).map(Some),
        None if in_array => Ok(Some(Value::Null)),
        None => Ok(None),
    }
}

fn wide_or_near(v: &Value, depth: usize) -> bool {
    let n = match v {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => return false,
    };
    depth < SHALLOW || n >= WIDE
}

fn new_container(v: &Value) -> JsValue {
    match v {
        Value::Array(_) => js_sys::Array::new().into(),
        _ => js_sys::Object::new().into(),
    }
}

/// The children of a container, taken out of it: member names (none for
/// array elements) and values.
fn children(v: Value) -> Box<dyn Iterator<Item = (Option<String>, Value)>> {
    match v {
        Value::Object(m) => Box::new(m.into_iter().map(|(k, c)| (Some(k), c))),
        Value::Array(a) => Box::new(a.into_iter().map(|c| (None, c))),
        _ => Box::new(std::iter::empty()),
    }
}

fn put_js(target: &JsValue, key: Option<&str>, v: &JsValue) -> Result<(), WebError> {
    match key {
        Some(k) => set(target, k, v),
        None => {
            let a: &js_sys::Array = target.unchecked_ref();
            a.push(v);
            Ok(())
        }
    }
}

fn set(target: &JsValue, key: &str, v: &JsValue) -> Result<(), WebError> {
    js_sys::Reflect::set(target, &JsValue::from_str(key), v)
        .map(|_| ())
        .map_err(|e| WebError::Core(describe(&e)))
}
