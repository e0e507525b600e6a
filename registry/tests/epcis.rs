//! EPCIS 2.0 documents validated against the official GS1 EPCIS 2.0 JSON Schema
//! (`standards/epcis-2.0-json-schema.json`, draft-07).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use serde_json::{Value, json};

const SCHEMA: &str = include_str!("standards/epcis-2.0-json-schema.json");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::draft7::options()
        // Formats (date-time, uri) are part of what the schema says; check them, whatever the
        // crate's default for the draft.
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(document: &Value) -> Vec<String> {
    validator()
        .iter_errors(document)
        .map(|e| format!("{} (at {})", e, e.instance_path()))
        .collect()
}

fn assert_valid(document: &Value) {
    let errors = schema_errors(document);
    assert!(
        errors.is_empty(),
        "{} schema errors:\n{}\n\ndocument:\n{}",
        errors.len(),
        errors.join("\n"),
        serde_json::to_string_pretty(document).unwrap()
    );
}

#[test]
fn the_vendored_schema_accepts_a_minimal_document_and_needs_each_field() {
    let minimal = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T08:00:00Z",
        "epcisBody": { "eventList": [] },
    });
    assert_valid(&minimal);
    for field in [
        "type",
        "@context",
        "schemaVersion",
        "creationDate",
        "epcisBody",
    ] {
        let mut broken = minimal.clone();
        broken.as_object_mut().unwrap().remove(field);
        assert!(
            !schema_errors(&broken).is_empty(),
            "accepted without {field}"
        );
    }
}
