//! Tests of the JSON module: conversion rules both ways with WSO2's documented examples, the
//! compatibility-suite expectations, round trips (`convert.rs`), and JSONPath (`path.rs`).

mod convert;
mod path;
mod tree_to_xml;
