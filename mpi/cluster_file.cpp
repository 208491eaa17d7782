#include "cluster_file.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pipebench::mpi {

namespace {

class Reader {
 public:
  explicit Reader(const std::string& text) : text_(text) {}

  std::vector<std::pair<std::string, std::string>> object() {
    std::vector<std::pair<std::string, std::string>> members;
    expect('{');
    if (peek() == '}') {
      ++at_;
    } else {
      for (;;) {
        std::string key = string();
        expect(':');
        members.emplace_back(std::move(key), value());
        const char c = next();
        if (c == '}') break;
        if (c != ',') fail("expected ',' or '}'");
      }
    }
    if (peek() != '\0') fail("text after the object");
    return members;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(what + " at byte " + std::to_string(at_));
  }
  // The next character that is not white space (without taking it); '\0' at the end.
  char peek() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) ++at_;
    return at_ < text_.size() ? text_[at_] : '\0';
  }
  char next() {
    const char c = peek();
    if (c == '\0') fail("unexpected end");
    ++at_;
    return c;
  }
  void expect(char c) {
    if (next() != c) {
      --at_;
      fail(std::string("expected '") + c + "'");
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated string");
      switch (const char e = text_[at_++]) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': out += code_point(); break;
        default: fail(std::string("unknown escape \\") + e);
      }
    }
  }
  // \uXXXX as UTF-8 (a code point of the Basic Multilingual Plane; no surrogate pairs).
  std::string code_point() {
    if (at_ + 4 > text_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[at_++];
      if (!std::isxdigit(static_cast<unsigned char>(h))) fail("bad \\u escape");
      v = v * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : std::tolower(h) - 'a' + 10);
    }
    if (v >= 0xd800 && v < 0xe000) fail("surrogate in a \\u escape");
    std::string out;
    if (v < 0x80) {
      out += static_cast<char>(v);
    } else if (v < 0x800) {
      out += static_cast<char>(0xc0 | (v >> 6));
      out += static_cast<char>(0x80 | (v & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (v >> 12));
      out += static_cast<char>(0x80 | ((v >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (v & 0x3f));
    }
    return out;
  }

  std::string value() {
    const char c = peek();
    if (c == '"') return string();
    if (c == '{' || c == '[') fail("nested value (the file is one flat object)");
    const std::size_t start = at_;
    while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || std::strchr("+-.", text_[at_])))
      ++at_;
    const std::string word = text_.substr(start, at_ - start);
    if (word == "true" || word == "false" || word == "null") return word;
    // A JSON number: -?digits[.digits][(e|E)[+-]digits], checked by its shape.
    std::size_t i = 0;
    const auto digits = [&] {
      const std::size_t from = i;
      while (i < word.size() && std::isdigit(static_cast<unsigned char>(word[i]))) ++i;
      return i > from;
    };
    if (i < word.size() && word[i] == '-') ++i;
    bool ok = digits();
    if (ok && i < word.size() && word[i] == '.') {
      ++i;
      ok = digits();
    }
    if (ok && i < word.size() && (word[i] == 'e' || word[i] == 'E')) {
      ++i;
      if (i < word.size() && (word[i] == '+' || word[i] == '-')) ++i;
      ok = digits();
    }
    if (!ok || i != word.size()) {
      at_ = start;
      fail("expected a value");
    }
    return word;
  }

  const std::string& text_;
  std::size_t at_ = 0;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_flat_json(const std::string& text) {
  return Reader(text).object();
}

std::vector<std::pair<std::string, std::string>> read_cluster_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot be read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::vector<std::pair<std::string, std::string>> members;
  try {
    members = parse_flat_json(text.str());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": not the flat JSON object cluster.sh writes: " + e.what());
  }
  for (auto& [key, value] : members) key = "cluster_" + key;
  return members;
}

}  // namespace pipebench::mpi
