#include "harness.hpp"

int main(int argc, char** argv) { return pipebench::bench::run_main(argc, argv, "io"); }
