//! A checker for the subset of JSON Schema our committed schemas use
//! (type, const, enum, required, properties, additionalProperties: false,
//! items), so `--json` output is held to its documented contract.

use serde_json::Value;

/// Panics with the JSON path of the first place `value` breaks `schema`.
pub fn assert_matches(value: &Value, schema: &Value) {
    if let Err(e) = check(value, schema, "$") {
        panic!("JSON does not match its schema: {e}");
    }
}

fn check(value: &Value, schema: &Value, path: &str) -> Result<(), String> {
    if let Some(c) = schema.get("const")
        && value != c
    {
        return Err(format!("{path}: {value} is not {c}"));
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(value)
    {
        return Err(format!("{path}: {value} is not one of {options:?}"));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.iter().any(|t| type_matches(value, t)) {
            return Err(format!("{path}: {value} is not of type {types:?}"));
        }
    }
    if let (Value::Object(map), Some(props)) = (value, schema.get("properties")) {
        for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            if !map.contains_key(key) {
                return Err(format!("{path}: missing required key '{key}'"));
            }
        }
        for (key, item) in map {
            match props.get(key) {
                Some(sub) => check(item, sub, &format!("{path}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}: key '{key}' is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item, item_schema, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

fn type_matches(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Reads a committed schema, e.g. `assets/schemas/status.schema.json`.
pub fn load(relative: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read schema"))
        .expect("schema is JSON")
}
