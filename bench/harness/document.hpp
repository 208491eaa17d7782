#pragma once
// The result document, schema version 1 (results/README.md, results/schema/result.schema.json):
// Google Benchmark's JSON, so its tools read it, plus a "pipebench" object on every run (which
// entry, role, typed parameters, siblings, model) and one closing the document (schema version,
// whether the run completed, what did not run). Readers never parse entry names.
#include <benchmark/benchmark.h>

#include <string>
#include <utility>
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
  // complete or incomplete: what the domain read once the entries were done (Domain::after_run:
  // the GPU's clocks and throttle reasons after the run), as "after_run": {key: value}.
  std::vector<std::pair<std::string, std::string>> after_run;
};
// Closes "benchmarks" and the document: "\n  ],\n  \"pipebench\": {...}\n}\n".
std::string document_footer(const DocumentStatus& status);

// A JSON string literal, quotes included.
std::string json_string(const std::string& text);

}  // namespace pipebench::bench
