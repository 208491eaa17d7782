#include "params.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace pipebench::bench {

namespace {
std::vector<std::string>& axis_order() {
  static std::vector<std::string> order = {"bytes", "chunks", "depth", "intensity"};
  return order;
}

// Axes not listed follow in alphabetical order.
std::size_t rank(std::string_view name) {
  const auto& order = axis_order();
  return static_cast<std::size_t>(std::find(order.begin(), order.end(), name) - order.begin());
}

bool before(const Param& a, const Param& b) {
  const std::size_t ra = rank(a.name), rb = rank(b.name);
  return ra != rb ? ra < rb : a.name < b.name;
}
}  // namespace

void set_axis_order(std::vector<std::string> order) { axis_order() = std::move(order); }

Params Params::with(std::string name, std::string value) const {
  Params out = *this;
  auto it = std::find_if(out.items_.begin(), out.items_.end(), [&](const Param& p) { return p.name == name; });
  if (it != out.items_.end()) {
    it->value = std::move(value);
    return out;
  }
  Param p{std::move(name), std::move(value)};
  out.items_.insert(std::upper_bound(out.items_.begin(), out.items_.end(), p, before), std::move(p));
  return out;
}

Params Params::merged(const Params& other) const {
  Params out = *this;
  for (const Param& p : other.items_) out = out.with(p.name, p.value);
  return out;
}

bool Params::has(std::string_view name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const Param& p) { return p.name == name; });
}

const std::string& Params::get(std::string_view name) const {
  for (const Param& p : items_)
    if (p.name == name) return p.value;
  throw std::out_of_range("parameter '" + std::string(name) + "' is not set in " + str());
}

std::int64_t Params::get_int(std::string_view name) const {
  const std::string& v = get(name);
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size())
    throw std::invalid_argument("parameter '" + std::string(name) + "' is not an integer: " + v);
  return out;
}

std::string Params::str() const {
  std::string s;
  for (const Param& p : items_) s += (s.empty() ? "" : "/") + p.name + ":" + p.value;
  return s;
}

bool Params::subset_of(const Params& other) const {
  return std::all_of(items_.begin(), items_.end(),
                     [&](const Param& p) { return other.has(p.name) && other.get(p.name) == p.value; });
}

std::vector<Params> expand(const std::vector<Axis>& axes, const Params& base) {
  std::vector<Params> points{base};
  for (const Axis& axis : axes) {
    std::vector<Params> next;
    for (const Params& p : points)
      for (const std::string& v : axis.values) next.push_back(p.with(axis.name, v));
    points = std::move(next);
  }
  return points;
}

std::string entry_name(const std::string& domain, const std::string& workload, const std::string& variant,
                       const Params& params) {
  std::string name = domain + '/' + workload + '/' + variant;
  if (!params.items().empty()) {
    name += '/';
    name += params.str();
  }
  return name;
}

EntryName parse_entry_name(std::string_view name) {
  EntryName out;
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t slash = name.find('/', start);
    fields.push_back(name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (fields.size() < 3) throw std::invalid_argument("not a pipebench entry name: " + std::string(name));
  out.domain = fields[0];
  out.workload = fields[1];
  out.variant = fields[2];
  for (std::size_t i = 3; i < fields.size(); ++i) {
    const std::size_t colon = fields[i].find(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument("parameter without a value in entry name: " + std::string(name));
    out.params = out.params.with(std::string(fields[i].substr(0, colon)), std::string(fields[i].substr(colon + 1)));
  }
  return out;
}

}  // namespace pipebench::bench
