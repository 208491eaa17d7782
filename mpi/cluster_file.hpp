#pragma once
// The file scripts/cluster.sh writes about the hosts it made (cluster.json: the hosts, the rate
// the links were shaped to, a probe of their RTT and bandwidth), read for the result's context.
// Its format is one flat JSON object of strings, numbers, booleans and nulls; no MPI here.
#include <string>
#include <utility>
#include <vector>

namespace pipebench::mpi {

// The object's members in file order, each value as text: a string unescaped, a number as it is
// written, true / false / null by name. Throws std::runtime_error saying what is wrong and where
// (a nested object or array included: cluster.sh writes none).
std::vector<std::pair<std::string, std::string>> parse_flat_json(const std::string& text);

// The members of the file at `path`, each named "cluster_<member>". Throws std::runtime_error
// naming the path when it cannot be read or parsed.
std::vector<std::pair<std::string, std::string>> read_cluster_file(const std::string& path);

}  // namespace pipebench::mpi
