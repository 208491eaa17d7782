#pragma once
// Parameters as they appear in entry names: ordered name:value pairs. The order is part of
// the naming contract (results/README.md): the running domain's axis order (set_axis_order),
// then any other name alphabetically.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pipebench::bench {

struct Param {
  std::string name;
  std::string value;
  bool operator==(const Param&) const = default;
};

class Params {
 public:
  Params() = default;
  // A copy with name set to value (replacing any earlier value), kept in canonical order.
  Params with(std::string name, std::string value) const;
  Params with(std::string name, std::int64_t value) const { return with(std::move(name), std::to_string(value)); }
  Params merged(const Params& other) const;  // other's values win

  bool has(std::string_view name) const;
  const std::string& get(std::string_view name) const;  // throws std::out_of_range
  std::int64_t get_int(std::string_view name) const;    // throws on a missing or non-integer value

  // "bytes:65536/chains:8"
  std::string str() const;
  // Every parameter here has the same value in other (siblings match by this rule).
  bool subset_of(const Params& other) const;
  const std::vector<Param>& items() const { return items_; }
  bool operator==(const Params&) const = default;
  bool operator<(const Params& o) const { return str() < o.str(); }

 private:
  std::vector<Param> items_;
};

// The order of the parameters in every name this process makes; called by the driver with its
// domain's order before any entry is named. The default: bytes, chunks, depth, intensity.
void set_axis_order(std::vector<std::string> order);

struct Axis {
  std::string name;
  std::vector<std::string> values;
};

// Every combination of the axes' values, each merged onto base.
std::vector<Params> expand(const std::vector<Axis>& axes, const Params& base = {});

// "domain/workload/variant/params" (no trailing slash when there are no parameters).
std::string entry_name(const std::string& domain, const std::string& workload, const std::string& variant,
                       const Params& params);

// Splits "cpu/sumsq/ilp/bytes:4096/chains:8" into its parts; the variant is the third field.
struct EntryName {
  std::string domain, workload, variant;
  Params params;
};
EntryName parse_entry_name(std::string_view name);  // throws std::invalid_argument

}  // namespace pipebench::bench
