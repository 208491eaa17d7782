#include "document.hpp"

#include "trace.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace pipebench::bench {

namespace {

using Run = benchmark::BenchmarkReporter::Run;

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.16e", v);  // Google Benchmark's precision
  return buf;
}

std::string number(long long v) { return std::to_string(v); }

// A parameter as JSON: an integer when the value is one, else a string.
std::string typed(const std::string& value) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec == std::errc() && end == value.data() + value.size() && !value.empty() && value[0] != '+' &&
      (value.size() == 1 || value[0] != '0'))
    return std::to_string(v);
  return json_string(value);
}

std::string name_or_null(const EntryRecord* e) { return e ? json_string(e->name) : "null"; }

// A model's stage entries: [{"variant": ..., "kind": ..., "entry": name or null}, ...].
std::string stage_list(const std::vector<EntryRecord::Stage>& stages) {
  std::string s = "[";
  for (std::size_t i = 0; i < stages.size(); ++i)
    s += std::string(i ? ", " : "") + "{\"variant\": " + json_string(stages[i].variant->name) + ", \"kind\": \"" +
         stage_kind_name(stages[i].variant->stage_kind) + "\", \"entry\": " + name_or_null(stages[i].entry) + "}";
  return s + "]";
}

// What the run is, for readers that must not parse its name.
std::string describe(const EntryRecord& rec, const char* outcome) {
  std::string s = "{\"pair\": " + json_string(rec.pair->domain + "/" + rec.pair->workload) +
                  ", \"domain\": " + json_string(rec.pair->domain) + ", \"workload\": " + json_string(rec.pair->workload) +
                  ", \"variant\": " + json_string(rec.variant->name) + ", \"role\": \"" + role_name(rec.variant->role) +
                  "\", \"outcome\": \"" + outcome + "\", \"params\": {";
  bool first = true;
  for (const Param& p : rec.params.items()) {
    s += (first ? "" : ", ") + json_string(p.name) + ": " + typed(p.value);
    first = false;
  }
  s += "}";
  const Role role = rec.variant->role;
  if (!rec.trace_file.empty()) s += ", \"trace\": " + json_string(rec.trace_file);
  if (role == Role::stage) s += std::string(", \"stage_kind\": \"") + stage_kind_name(rec.variant->stage_kind) + "\"";
  if (role == Role::pipelined || role == Role::alternative || role == Role::reference) {
    s += ", \"siblings\": {\"serial\": " + name_or_null(rec.serial);
    if (role == Role::alternative) s += ", \"reference\": " + name_or_null(rec.reference);
    s += "}";
  }
  const Model& model = rec.variant->model;
  if (role == Role::pipelined || model.declared()) {
    // "pipeline": T_ideal = ideal_time(stages, chunks, depth) (bench/harness/model.hpp); "pair":
    // the variant's own model (its pair's context says which).
    const bool pipeline = static_cast<bool>(model.shape);
    s += ", \"model\": {\"formula\": \"";
    s += pipeline ? "pipeline" : "pair";
    s += "\", \"stages\": " + stage_list(rec.stages);
    if (!rec.terms.empty()) s += ", \"terms\": " + stage_list(rec.terms);
    if (pipeline) {
      const PipelineShape shape = model.shape(rec.params);
      s += ", \"chunks\": " + std::to_string(shape.chunks) + ", \"depth\": " + std::to_string(shape.depth);
    }
    s += "}";
  }
  return s + "}";
}

const char* outcome_of(const Run& r) {
  if (!r.error_occurred) return "ok";
  return r.error_message.rfind("skipped", 0) == 0 ? "skipped" : "failed";
}

void kv(std::string& s, const char* key, const std::string& value_json) {
  s += "      \"";
  s += key;
  s += "\": " + value_json + ",\n";
}

std::string run_json(const Run& run, const EntryRecord& rec) {
  const bool aggregate = run.run_type == Run::RT_Aggregate;
  std::string s = "    {\n";
  kv(s, "name", json_string(run.benchmark_name()));
  kv(s, "family_index", number(static_cast<long long>(run.family_index)));
  kv(s, "per_family_instance_index", number(static_cast<long long>(run.per_family_instance_index)));
  kv(s, "run_name", json_string(run.run_name.str()));
  kv(s, "run_type", aggregate ? "\"aggregate\"" : "\"iteration\"");
  kv(s, "repetitions", number(static_cast<long long>(run.repetitions)));
  if (!aggregate) kv(s, "repetition_index", number(static_cast<long long>(run.repetition_index)));
  kv(s, "threads", number(static_cast<long long>(run.threads)));
  if (aggregate) {
    kv(s, "aggregate_name", json_string(run.aggregate_name));
    kv(s, "aggregate_unit", run.aggregate_unit == benchmark::StatisticUnit::kTime ? "\"time\"" : "\"percentage\"");
  }
  if (run.error_occurred) {
    kv(s, "error_occurred", "true");
    kv(s, "error_message", json_string(run.error_message));
  }
  kv(s, "iterations", number(static_cast<long long>(run.iterations)));
  const bool percentage = aggregate && run.aggregate_unit == benchmark::StatisticUnit::kPercentage;
  kv(s, "real_time", number(percentage ? run.real_accumulated_time : run.GetAdjustedRealTime()));
  kv(s, "cpu_time", number(percentage ? run.cpu_accumulated_time : run.GetAdjustedCPUTime()));
  kv(s, "time_unit", json_string(benchmark::GetTimeUnitString(run.time_unit)));
  for (const auto& [name, counter] : run.counters)
    if (std::isfinite(counter.value)) kv(s, name.c_str(), number(counter.value));  // JSON has no NaN
  if (!run.report_label.empty()) kv(s, "label", json_string(run.report_label));
  s += "      \"pipebench\": " + describe(rec, outcome_of(run)) + "\n    }";
  return s;
}

}  // namespace

std::string json_string(const std::string& text) { return trace::json_quoted(text); }

std::string document_header(const benchmark::BenchmarkReporter::Context& context) {
  std::ostringstream text;
  benchmark::JSONReporter json;
  json.SetOutputStream(&text);
  json.SetErrorStream(&text);
  json.ReportContext(context);
  return text.str();
}

std::string entry_runs_json(const std::vector<Run>& runs, const EntryRecord& record) {
  std::string s;
  for (const Run& r : runs) {
    if (!s.empty()) s += ",\n";
    s += run_json(r, record);
  }
  return s;
}

std::string document_footer(const DocumentStatus& st) {
  std::string s = "\n  ],\n  \"pipebench\": {\n";
  s += "    \"schema_version\": " + std::to_string(kSchemaVersion) + ",\n";
  s += "    \"program\": " + json_string(st.program) + ",\n";
  s += "    \"status\": " + json_string(st.status) + ",\n";
  if (!st.reason.empty()) s += "    \"reason\": " + json_string(st.reason) + ",\n";
  s += "    \"processes\": " + std::to_string(st.processes) + ",\n";
  s += "    \"entries_registered\": " + std::to_string(st.registered) + ",\n";
  s += "    \"entries_written\": " + std::to_string(st.written);
  if (st.status != "running") {
    s += ",\n    \"not_run\": [";
    for (std::size_t i = 0; i < st.not_run.size(); ++i) s += (i ? ", " : "") + json_string(st.not_run[i]);
    s += "]";
    if (!st.after_run.empty()) {
      s += ",\n    \"after_run\": {";
      for (std::size_t i = 0; i < st.after_run.size(); ++i)
        s += (i ? ", " : "") + json_string(st.after_run[i].first) + ": " + json_string(st.after_run[i].second);
      s += "}";
    }
  }
  return s + "\n  }\n}\n";
}

}  // namespace pipebench::bench
