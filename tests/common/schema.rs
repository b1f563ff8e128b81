//! The one checker for the subset of JSON Schema our committed schemas use
//! (type, const, enum, minimum, required, properties, additionalProperties,
//! items, local `$ref`), so every `--json` output is held to its documented
//! contract.

use serde_json::Value;

/// Panics listing every place `value` breaks `schema`, with its JSON path.
pub fn assert_matches(value: &Value, schema: &Value) {
    let mut out = Vec::new();
    violations(schema, schema, value, "$", &mut out);
    assert!(out.is_empty(), "JSON does not match its schema:\n{}\n{value:#}", out.join("\n"));
}

/// Every violation of `schema` (whose document is `root`) by `value`, with its JSON path.
pub fn violations(schema: &Value, root: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference.strip_prefix("#/").expect("local $ref");
        let resolved = target.split('/').fold(root, |v, key| &v[key]);
        return violations(resolved, root, value, path, out);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema at {path}"),
        };
        let fits = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            _ => panic!("unknown type {t}"),
        };
        if !types.iter().any(|t| fits(t)) {
            out.push(format!("{path}: {value} is not {types:?}"));
            return;
        }
    }
    if let Some(expected) = schema.get("const").filter(|c| *c != value) {
        out.push(format!("{path}: {value} is not {expected}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        out.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64())
        && v < min
    {
        out.push(format!("{path}: {v} < {min}"));
    }
    if let Some(object) = value.as_object() {
        for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let key = key.as_str().expect("required names");
            if !object.contains_key(key) {
                out.push(format!("{path}: missing '{key}'"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, item) in object {
            let sub = format!("{path}.{key}");
            match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                (Some(s), _) => violations(s, root, item, &sub, out),
                (None, Some(Value::Bool(false))) => out.push(format!("{sub}: not in the schema")),
                (None, Some(s)) if s.is_object() => violations(s, root, item, &sub, out),
                (None, _) => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            violations(items, root, item, &format!("{path}[{i}]"), out);
        }
    }
}

/// Reads a committed schema, e.g. `assets/schemas/status.schema.json`.
pub fn load(relative: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read schema"))
        .expect("schema is JSON")
}
