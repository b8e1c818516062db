//! The Python types of every result the core hands to Python (as JSON text
//! or as a dict), generated from the Rust types' JSON schemas: the module
//! `python/victron_gx_modbus/_results.py`, one `TypedDict` per struct and
//! one `Literal` alias per enum, with the Rust doc comments as docstrings.
//!
//! The test fails when the committed module differs from what the Rust
//! types give; `scripts/gen-result-types` (this test with
//! `UPDATE_RESULT_TYPES=1`) writes it anew.
//!
//! A key is `NotRequired` when serde may leave it out
//! (`skip_serializing_if`), and then its value is never None unless the field
//! is marked `#[schemars(extend("nullable" = true))]` (an `Option<Option<T>>`);
//! in the types Python stores and passes back (a scan result and what it
//! holds), a key is also `NotRequired` when an older stored result may lack
//! it (`#[serde(default)]`). Keys are listed in alphabetical order.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value};

use crate::discovery::{ScanProgress, ScanResult, SweepResult};
use crate::dump::DumpedDevice;
use crate::guard::WriteRange;
use crate::ledger::Ledger;
use crate::mqtt::MqttCheck;
use crate::poll::{PlanView, PollOutput};
use crate::sim::{DeviceInfo, History, Stats};
use crate::transport::Metrics;

/// The module, relative to the crate.
const MODULE: &str = "python/victron_gx_modbus/_results.py";

/// Types Python stores and gives back to the core: a key they may lack
/// (read with a default) is `NotRequired` too.
const STORED: &[&str] = &["ScanResult"];

/// Longest line ruff accepts (pyproject.toml).
const LINE: usize = 110;

/// The schemas of every result type as serde writes it, and the names of
/// the result types in the order they are listed.
fn definitions() -> (Map<String, Value>, Vec<String>) {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| settings.contract = Contract::Serialize)
        .into_generator();
    let roots = [
        generator.subschema_for::<ScanResult>(),
        generator.subschema_for::<SweepResult>(),
        generator.subschema_for::<ScanProgress>(),
        generator.subschema_for::<PlanView<'static>>(),
        generator.subschema_for::<PollOutput>(),
        generator.subschema_for::<Metrics>(),
        generator.subschema_for::<WriteRange>(),
        generator.subschema_for::<DumpedDevice>(),
        generator.subschema_for::<MqttCheck>(),
        generator.subschema_for::<Ledger>(),
        generator.subschema_for::<Stats>(),
        generator.subschema_for::<DeviceInfo>(),
        generator.subschema_for::<History>(),
    ];
    let names = roots
        .iter()
        .map(|root| reference(root.as_value()).expect("a result type is a definition"))
        .collect();
    (generator.take_definitions(true), names)
}

/// The definition a `{"$ref": "#/$defs/Name"}` schema names.
fn reference(schema: &Value) -> Option<String> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/$defs/")
        .map(str::to_owned)
}

/// Every definition a schema refers to, in the order they appear.
fn references(schema: &Value, found: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = reference(schema) {
                found.push(name);
            }
            map.values().for_each(|value| references(value, found));
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// The definitions in an order where each comes after those it uses.
fn ordered(defs: &Map<String, Value>, roots: &[String]) -> Vec<String> {
    fn visit(
        name: &str,
        defs: &Map<String, Value>,
        visiting: &mut BTreeSet<String>,
        done: &mut Vec<String>,
    ) {
        if done.iter().any(|d| d == name) || !visiting.insert(name.to_owned()) {
            return;
        }
        let mut used = Vec::new();
        references(&defs[name], &mut used);
        for dep in used {
            visit(&dep, defs, visiting, done);
        }
        done.push(name.to_owned());
    }
    let (mut visiting, mut done) = (BTreeSet::new(), Vec::new());
    for root in roots {
        visit(root, defs, &mut visiting, &mut done);
    }
    done
}

/// The definitions a type reaches, itself included.
fn reachable(name: &str, defs: &Map<String, Value>, seen: &mut BTreeSet<String>) {
    if seen.insert(name.to_owned()) {
        let mut used = Vec::new();
        references(&defs[name], &mut used);
        used.iter().for_each(|dep| reachable(dep, defs, seen));
    }
}

/// A schema as a Python type.
fn python_type(schema: &Value) -> String {
    if let Some(name) = reference(schema) {
        return name;
    }
    if let Some(value) = schema.get("const") {
        return format!("Literal[{value}]");
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("Literal[{}]", values.join(", "));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = schema.get(key) {
            return union(options.iter().map(python_type).collect());
        }
    }
    match schema.get("type") {
        Some(Value::String(kind)) => simple_type(kind, schema),
        Some(Value::Array(kinds)) => union(
            kinds
                .iter()
                .map(|kind| simple_type(kind.as_str().unwrap_or_default(), schema))
                .collect(),
        ),
        _ => panic!("no Python type for the schema {schema}"),
    }
}

/// One JSON type of a schema as a Python type.
fn simple_type(kind: &str, schema: &Value) -> String {
    match kind {
        "string" => "str".into(),
        "integer" => "int".into(),
        "number" => "float".into(),
        "boolean" => "bool".into(),
        "null" => "None".into(),
        "array" => match (schema.get("prefixItems"), schema.get("items")) {
            (Some(Value::Array(items)), _) => {
                let items: Vec<String> = items.iter().map(python_type).collect();
                format!("tuple[{}]", items.join(", "))
            }
            (_, Some(items)) => format!("list[{}]", python_type(items)),
            _ => panic!("an array without items: {schema}"),
        },
        // A map: its keys are text in JSON (numbers as digits).
        "object" => match (
            schema.get("additionalProperties"),
            schema.get("patternProperties"),
        ) {
            (Some(values @ Value::Object(_)), _) => format!("dict[str, {}]", python_type(values)),
            (_, Some(Value::Object(patterns))) if patterns.len() == 1 => {
                let values = patterns.values().next().expect("one pattern");
                format!("dict[str, {}]", python_type(values))
            }
            _ => panic!("an object type that is no definition: {schema}"),
        },
        _ => panic!("no Python type for JSON type {kind}"),
    }
}

/// A union, `None` last.
fn union(mut options: Vec<String>) -> String {
    options.dedup();
    let none = options.iter().position(|option| option == "None");
    if let Some(index) = none {
        let none = options.remove(index);
        options.push(none);
    }
    options.join(" | ")
}

/// A doc comment as paragraphs of one line each (rustdoc links as code),
/// escaped for a docstring (a quote that ends it would end the docstring).
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|paragraph| {
            let mut line = paragraph
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
                .replace("[`", "`")
                .replace("`]", "`")
                .replace('\\', "\\\\")
                .replace("\"\"\"", "\\\"\"\"");
            if line.ends_with('"') {
                line.pop();
                line.push_str("\\\"");
            }
            line
        })
        .filter(|paragraph| !paragraph.is_empty())
        .collect()
}

/// Words filled into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// A docstring at `indent`: its first sentence as the summary line, the
/// rest after a blank line, filled to the line length.
fn docstring(out: &mut String, indent: &str, text: &str, whose: &str) {
    let mut paragraphs = paragraphs(text);
    assert!(!paragraphs.is_empty(), "{whose} has no doc comment");
    let first = paragraphs.remove(0);
    let (summary, rest) = match first.find(". ") {
        Some(end) => (&first[..=end], first[end + 2..].to_owned()),
        None => (first.as_str(), String::new()),
    };
    if !rest.is_empty() {
        paragraphs.insert(0, rest);
    }
    let summary = if summary.ends_with('.') {
        summary.to_owned()
    } else {
        format!("{summary}.")
    };
    if paragraphs.is_empty() && indent.len() + summary.len() + 6 <= LINE {
        let _ = writeln!(out, "{indent}\"\"\"{summary}\"\"\"");
        return;
    }
    assert!(
        indent.len() + summary.len() + 3 <= LINE,
        "the first sentence of {whose}'s doc comment is longer than a line"
    );
    let _ = writeln!(out, "{indent}\"\"\"{summary}");
    for paragraph in &paragraphs {
        out.push('\n');
        for line in wrap(paragraph, LINE - indent.len()) {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    let _ = writeln!(out, "{indent}\"\"\"");
}

/// A field's docstring: its doc comment filled to the line length.
fn field_docstring(out: &mut String, text: &str) {
    let text = paragraphs(text).join(" ");
    let indent = "    ";
    if indent.len() + text.len() + 6 <= LINE {
        let _ = writeln!(out, "{indent}\"\"\"{text}\"\"\"");
        return;
    }
    let lines = wrap(&text, LINE - indent.len() - 3);
    let last = lines.len() - 1;
    for (index, line) in lines.iter().enumerate() {
        let open = if index == 0 { "\"\"\"" } else { "" };
        let close = if index == last { "\"\"\"" } else { "" };
        let _ = writeln!(out, "{indent}{open}{line}{close}");
    }
}

/// An enum of names as a `Literal` alias, its variants' doc comments listed.
fn literal_alias(out: &mut String, name: &str, schema: &Value) {
    let variants: Vec<(String, Option<&str>)> = match (schema.get("oneOf"), schema.get("enum")) {
        (Some(Value::Array(variants)), _) => variants
            .iter()
            .map(|variant| {
                let value = variant.get("const").expect("a unit variant");
                let doc = variant.get("description").and_then(Value::as_str);
                (value.to_string(), doc)
            })
            .collect(),
        (_, Some(Value::Array(values))) => values.iter().map(|v| (v.to_string(), None)).collect(),
        _ => panic!("{name} is neither a struct nor an enum of names"),
    };
    let values: Vec<&str> = variants.iter().map(|(value, _)| value.as_str()).collect();
    let line = format!("type {name} = Literal[{}]", values.join(", "));
    if line.len() <= LINE {
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(out, "type {name} = Literal[");
        for value in &values {
            let _ = writeln!(out, "    {value},");
        }
        let _ = writeln!(out, "]");
    }
    let mut text = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{name} has no doc comment"))
        .to_owned();
    for (value, doc) in &variants {
        if let Some(doc) = doc {
            let _ = write!(text, "\n\n{value}: {}", paragraphs(doc).join(" "));
        }
    }
    docstring(out, "", &text, name);
}

/// A schema without its `null` (an `Option` field that serde leaves out when `None`).
fn without_null(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(Value::Array(kinds)) = schema.get_mut("type") {
        kinds.retain(|kind| kind != "null");
    }
    if let Some(Value::Array(options)) = schema.get_mut("anyOf") {
        options.retain(|option| option.get("type").is_none_or(|kind| kind != "null"));
    }
    schema
}

/// Any other type as an alias, the doc comments of its options listed.
fn alias(out: &mut String, name: &str, schema: &Value) {
    let _ = writeln!(out, "type {name} = {}", python_type(schema));
    let mut text = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{name} has no doc comment"))
        .to_owned();
    for key in ["anyOf", "oneOf"] {
        for option in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(doc) = option.get("description").and_then(Value::as_str) {
                let _ = write!(
                    text,
                    "\n\n`{}`: {}",
                    python_type(option),
                    paragraphs(doc).join(" ")
                );
            }
        }
    }
    docstring(out, "", &text, name);
}

/// A struct as a `TypedDict`; `stored`: whether Python stores it (a key
/// read with a default may be missing from what it stored).
fn typed_dict(out: &mut String, name: &str, schema: &Value, stored: bool) {
    let _ = writeln!(out, "class {name}(TypedDict):");
    let description = schema.get("description").and_then(Value::as_str);
    docstring(out, "    ", description.unwrap_or_default(), name);
    let Some(Value::Object(properties)) = schema.get("properties") else {
        panic!("{name} has no fields");
    };
    let required = required(schema);
    for (field, property) in properties {
        let written = required.contains(field);
        let nullable = written || property.get("nullable") == Some(&Value::Bool(true));
        let kind = if nullable {
            python_type(property)
        } else {
            python_type(&without_null(property))
        };
        let kind = if !written || (stored && property.get("default").is_some()) {
            format!("NotRequired[{kind}]")
        } else {
            kind
        };
        out.push('\n');
        let _ = writeln!(out, "    {field}: {kind}");
        let doc = property.get("description").and_then(Value::as_str);
        field_docstring(
            out,
            doc.unwrap_or_else(|| panic!("{name}.{field} has no doc comment")),
        );
    }
}

/// The keys a struct's schema requires (those serde always writes).
fn required(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|key| key.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The Python module.
fn python_module() -> String {
    let (defs, roots) = definitions();
    let mut stored = BTreeSet::new();
    STORED
        .iter()
        .for_each(|name| reachable(name, &defs, &mut stored));
    let mut out = String::from(
        "\"\"\"The shapes of the results the core returns, as typed dicts (generated: do not edit).\n\
         \n\
         Written by `scripts/gen-result-types` from the Rust types and their doc\n\
         comments; `cargo test result_types` fails when this file differs from them.\n\
         \"\"\"\n\
         \n\
         from __future__ import annotations\n\
         \n\
         from typing import Literal, NotRequired, TypedDict\n",
    );
    for name in ordered(&defs, &roots) {
        let schema = &defs[&name];
        out.push_str("\n\n");
        let names_only = ["oneOf", "enum"].iter().any(|key| {
            schema
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|options| {
                    options
                        .iter()
                        .all(|option| option.is_string() || option.get("const").is_some())
                })
        });
        if schema.get("properties").is_some() {
            typed_dict(&mut out, &name, schema, stored.contains(&name));
        } else if names_only {
            literal_alias(&mut out, &name, schema);
        } else {
            alias(&mut out, &name, schema);
        }
    }
    out
}

#[test]
fn the_python_result_types_are_those_of_the_rust_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(MODULE);
    let module = python_module();
    if std::env::var_os("UPDATE_RESULT_TYPES").is_some() {
        std::fs::write(&path, &module).expect("the module is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != module {
        let line = committed
            .lines()
            .zip(module.lines())
            .position(|(old, new)| old != new)
            .unwrap_or_else(|| committed.lines().count().min(module.lines().count()));
        panic!(
            "{MODULE} differs from the Rust result types from line {} on \
             (run scripts/gen-result-types and commit it):\n{}",
            line + 1,
            module
                .lines()
                .skip(line)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn a_doc_comment_becomes_a_docstring_that_ends_where_it_should() {
    let text = "Says \"hi\"\nover [`two`] lines.\n\nA \\ and \"\"\" and \"quoted\"";
    assert_eq!(
        paragraphs(text),
        [
            "Says \"hi\" over `two` lines.",
            "A \\\\ and \\\"\"\" and \"quoted\\\""
        ]
    );
}
