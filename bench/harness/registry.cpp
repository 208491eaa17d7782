#include "registry.hpp"

#include <algorithm>
#include <stdexcept>

namespace pipebench::bench {

const char* role_name(Role role) {
  switch (role) {
    case Role::serial: return "serial";
    case Role::pipelined: return "pipelined";
    case Role::stage: return "stage";
    case Role::alternative: return "alternative";
    case Role::reference: return "reference";
  }
  return "?";
}

const char* stage_kind_name(StageKind kind) {
  switch (kind) {
    case StageKind::compute: return "compute";
    case StageKind::transfer: return "transfer";
    case StageKind::combined: return "combined";
  }
  return "?";
}

std::vector<const EntryRecord*> EntryRecord::waits_for() const {
  std::vector<const EntryRecord*> out;
  if (serial) out.push_back(serial);
  if (reference) out.push_back(reference);
  for (const Stage& s : stages)
    if (s.entry) out.push_back(s.entry);
  for (const Stage& s : terms)
    if (s.entry) out.push_back(s.entry);
  return out;
}

EntryRecord& Registry::add(EntryRecord record) {
  if (by_name_.count(record.name)) throw std::logic_error("entry registered twice: " + record.name);
  entries_.push_back(std::make_unique<EntryRecord>(std::move(record)));
  EntryRecord& r = *entries_.back();
  by_name_[r.name] = &r;
  return r;
}

const EntryRecord* Registry::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

EntryRecord* Registry::find(const std::string& name) {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const EntryRecord* Registry::sibling(const Pair* pair, Role role, const Params& params, const std::string& variant) const {
  for (const auto& e : entries_)
    if (e->pair == pair && e->variant->role == role && (variant.empty() || e->variant->name == variant) &&
        e->params.subset_of(params))
      return e.get();
  return nullptr;
}

void Registry::link() {
  for (const auto& e : entries_) {
    const Role role = e->variant->role;
    const Model& model = e->variant->model;
    e->serial = role == Role::pipelined || role == Role::alternative || role == Role::reference
                    ? sibling(e->pair, Role::serial, e->params)
                    : nullptr;
    e->reference = role == Role::alternative ? sibling(e->pair, Role::reference, e->params) : nullptr;
    e->stages.clear();
    e->terms.clear();
    if (role != Role::pipelined && !model.declared()) continue;
    for (const std::string& t : model.terms)
      for (const Variant& v : e->pair->variants)
        if (v.role == Role::stage && v.name == t) e->terms.push_back({&v, sibling(e->pair, Role::stage, e->params, v.name)});
    const std::vector<std::string>& wanted = model.stages;
    if (wanted.empty() && role != Role::pipelined) continue;
    for (const Variant& v : e->pair->variants) {
      if (v.role != Role::stage) continue;
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), v.name) == wanted.end()) continue;
      e->stages.push_back({&v, sibling(e->pair, Role::stage, e->params, v.name)});
    }
  }
}

Model pipeline_model(std::function<PipelineShape(const Params&)> shape, std::vector<std::string> stages) {
  Model m;
  m.stages = std::move(stages);
  m.shape = std::move(shape);
  return m;
}

std::function<PipelineShape(const Params&)> shape_from(std::string chunks_param, std::string depth_param) {
  return [chunks_param = std::move(chunks_param), depth_param = std::move(depth_param)](const Params& pt) {
    PipelineShape s;
    if (!chunks_param.empty()) s.chunks = static_cast<std::size_t>(pt.get_int(chunks_param));
    if (!depth_param.empty()) s.depth = static_cast<std::size_t>(pt.get_int(depth_param));
    return s;
  };
}

Model own_model(std::function<double(const ModelInputs&)> ideal, std::vector<std::string> stages) {
  Model m;
  m.stages = std::move(stages);
  m.ideal = std::move(ideal);
  return m;
}

namespace {
struct Registered {
  std::string domain, name;
  PairFactory factory;
};
std::vector<Registered>& registered() {
  static std::vector<Registered> all;  // constructed on first use, before any registrar reads it
  return all;
}
}  // namespace

bool register_pair(const std::string& domain, const std::string& name, PairFactory factory) {
  registered().push_back({domain, name, factory});
  return true;
}

std::vector<PairFactory> registered_pairs(const std::string& domain) {
  std::vector<Registered> mine;
  for (const auto& r : registered())
    if (r.domain == domain) mine.push_back(r);
  std::sort(mine.begin(), mine.end(), [](const Registered& a, const Registered& b) { return a.name < b.name; });
  std::vector<PairFactory> out;
  for (const auto& r : mine) out.push_back(r.factory);
  return out;
}

}  // namespace pipebench::bench
