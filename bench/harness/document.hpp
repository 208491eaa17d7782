#pragma once
// The result document, schema version 1 (results/README.md, results/schema/result.schema.json):
// Google Benchmark's JSON (context, benchmarks: one object per repetition and aggregate, with
// the same fields, so Google Benchmark's tools/compare.py reads it), and what the harness knows
// and Google Benchmark does not: each run object carries a "pipebench" object saying which
// entry it is (pair, variant, role, typed parameters, its siblings and the stages of its
// model), and the document ends with a "pipebench" object: schema version, program, whether
// the run completed, and which entries did not run. Readers never parse entry names.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "registry.hpp"

namespace pipebench::bench {

constexpr int kSchemaVersion = 1;

// Google Benchmark's context block, as its JSON reporter writes it, up to the opening of
// "benchmarks": "{\n  \"context\": {...},\n  \"benchmarks\": [\n".
std::string document_header(const benchmark::BenchmarkReporter::Context& context);

// One entry's runs as JSON objects joined by ",\n", each with its "pipebench" object.
std::string entry_runs_json(const std::vector<benchmark::BenchmarkReporter::Run>& runs, const EntryRecord& record);

struct DocumentStatus {
  std::string program;
  std::string status;                // running, complete, incomplete
  std::string reason;                // incomplete: why
  int processes = 1;                 // MPI ranks
  std::size_t registered = 0;        // entries registered
  std::size_t written = 0;           // entries in the document
  std::vector<std::string> not_run;  // complete or incomplete: registered entries that did not run
};
// Closes "benchmarks" and the document: "\n  ],\n  \"pipebench\": {...}\n}\n".
std::string document_footer(const DocumentStatus& status);

// A JSON string literal, quotes included.
std::string json_string(const std::string& text);

}  // namespace pipebench::bench
