//! `lvslab conns --json` against its committed schema
//! (assets/schemas/conns.schema.json), on tables built from text in the
//! kernel's format: connections in every state, a persistence template, a
//! destination the lab does not know, and an empty table. No root needed;
//! the root and VM tests check the command's real output against it too.

mod common;

use lvslab::monitor::conns::{synthetic_text, table, table_read};
use lvslab_core::lab::presets;
use lvslab_ipvs::conns::parse;
use serde_json::Value;

fn schema() -> Value {
    common::schema::load("assets/schemas/conns.schema.json")
}

const MIXED: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED     899
TCP C0000202 D6F4 C0000201 0050 C633640C 0050 TIME_WAIT       118
TCP C0000202 0000 C0000201 0050 C633640B 0050 NONE            359
TCP C0000202 D6F6 C0000201 0050 C6336463 0050 SYN_RECV         59
";

#[test]
fn tables_match_the_committed_schema() {
    let spec = presets::load("tutorial").unwrap().spec;
    for (text, server) in
        [(MIXED, None), (MIXED, Some("rs2")), ("", None), (&*synthetic_text(500, 50, 3), None)]
    {
        let t = table_read(&spec, &parse(text), server);
        let doc = serde_json::to_value(&t).unwrap();
        common::schema::assert_matches(&doc, &schema());
    }
}

#[test]
fn malformed_lines_are_counted_in_a_document_that_matches_the_schema() {
    let spec = presets::load("tutorial").unwrap().spec;
    let text = format!("{MIXED}TCP C0000202 D6F8 half a line\nTCP \u{1b}[2J 0 0 0 0 0 0 E 1\n");
    let doc = serde_json::to_value(table_read(&spec, &parse(&text), None)).unwrap();
    common::schema::assert_matches(&doc, &schema());
    assert_eq!((doc["skipped_lines"].clone(), doc["total"].clone()), (2.into(), 3.into()));
    assert!(!doc.to_string().contains('\u{1b}'), "{doc}");
}

#[test]
fn the_document_says_what_a_user_reads() {
    let spec = presets::load("tutorial").unwrap().spec;
    let doc = serde_json::to_value(table(&spec, &parse(MIXED).conns, None)).unwrap();
    assert_eq!(doc["total"], 3);
    assert_eq!(doc["templates"], 1);
    assert_eq!(doc["by_state"]["ESTABLISHED"], 1);
    assert_eq!(doc["by_server"][0]["name"], "rs1");
    assert_eq!(doc["by_server"][0]["active"], 1);
    assert_eq!(doc["by_server"][0]["templates"], 1);
    assert_eq!(doc["by_server"][2]["name"], "198.51.100.99", "a stranger is named by address");
    assert_eq!(doc["connections"][0]["template"], true);
    assert_eq!(doc["skipped_lines"], 0);
}

#[test]
fn the_checker_catches_a_document_that_breaks_it() {
    let mut out = Vec::new();
    let bad = serde_json::json!({"schema_version": 2, "lab": "t", "total": -1});
    common::schema::violations(&schema(), &schema(), &bad, "$", &mut out);
    assert!(out.iter().any(|v| v.contains("missing 'connections'")), "{out:?}");
    assert!(out.iter().any(|v| v.contains("$.total")), "{out:?}");
}
