// Reads a box-and-arrow drawing back into its edges, the way a person does: find the boxes, then
// follow each arrowhead's line to the box at its other end. Written for the tests, independently
// of the drawing code, so that a drawing that is ambiguous or wrong fails to read back.
#pragma once

#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace smi::plugin::testing {

struct ReadEdge {
  std::string from, to;            // box names (their first line)
  std::vector<std::string> label;  // the text above the arrowhead's end, top to bottom
  auto operator<=>(const ReadEdge&) const = default;
};

class DrawingReader {
 public:
  explicit DrawingReader(const std::string& drawing) {
    const std::string plain = std::regex_replace(drawing, std::regex("\033\\[[0-9;]*m"), "");
    std::stringstream in(plain);
    for (std::string line; std::getline(in, line);) rows_.push_back(line);
    FindBoxes();
  }

  // The box names found, in reading order.
  std::vector<std::string> Boxes() const {
    std::vector<std::string> out;
    for (const auto& b : boxes_) out.push_back(b.name);
    return out;
  }

  // Every edge the drawing shows; nullopt (with `error` set) when a line cannot be followed.
  std::optional<std::multiset<ReadEdge>> Edges(std::string* error) const {
    std::multiset<ReadEdge> out;
    for (int y = 0; y < static_cast<int>(rows_.size()); ++y) {
      for (int x = 0; x < static_cast<int>(rows_[y].size()); ++x) {
        const char c = At(x, y);
        if ((c != 'v' && c != '^') || InsideBox(x, y)) continue;
        std::string why;
        const auto edge = c == 'v' ? FollowUp(x, y, &why) : FollowDown(x, y, &why);
        if (!edge) {
          *error = "arrowhead at column " + std::to_string(x) + ", row " + std::to_string(y) +
                   ": " + why;
          return std::nullopt;
        }
        out.insert(*edge);
      }
    }
    return out;
  }

 private:
  struct Box {
    int left, top, right, bottom;
    std::string name;
  };

  char At(int x, int y) const {
    if (y < 0 || y >= static_cast<int>(rows_.size())) return ' ';
    if (x < 0 || x >= static_cast<int>(rows_[y].size())) return ' ';
    return rows_[y][x];
  }

  static bool Border(char c) { return c == '-' || c == '+'; }

  void FindBoxes() {
    for (int y = 0; y < static_cast<int>(rows_.size()); ++y) {
      for (int x = 0; x < static_cast<int>(rows_[y].size()); ++x) {
        if (At(x, y) != '+' || At(x, y + 1) != '|' || !Border(At(x + 1, y))) continue;
        // The top border runs right to the corner above the right side.
        int right = x + 1;
        while (Border(At(right, y)) && !(At(right, y) == '+' && At(right, y + 1) == '|')) ++right;
        if (At(right, y) != '+' || At(right, y + 1) != '|') continue;
        int bottom = y + 1;
        while (At(x, bottom) == '|' && At(right, bottom) == '|') ++bottom;
        if (At(x, bottom) != '+' || At(right, bottom) != '+') continue;
        bool closed = true;
        for (int i = x; i <= right; ++i) closed = closed && Border(At(i, bottom));
        if (!closed) continue;
        std::string name = rows_[y + 1].substr(x + 1, right - x - 1);
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        if (name.empty()) continue;
        boxes_.push_back({x, y, right, bottom, name});
      }
    }
  }

  bool InsideBox(int x, int y) const {
    for (const auto& b : boxes_) {
      if (x >= b.left && x <= b.right && y >= b.top && y <= b.bottom) return true;
    }
    return false;
  }

  const Box* BoxWithBorderAt(int x, int y, bool bottom_border) const {
    for (const auto& b : boxes_) {
      if (x > b.left && x < b.right && y == (bottom_border ? b.bottom : b.top)) return &b;
    }
    return nullptr;
  }

  // The label written on the line just above (x, y), top to bottom.
  std::vector<std::string> LabelAbove(int x, int y) const {
    std::vector<std::string> label;
    for (int r = y - 1; r >= 0; --r) {
      const char c = At(x, r);
      if (c == '|' || c == '+' || c == ' ' || c == '^' || c == 'v') break;
      int a = x, b = x;
      while (At(a - 1, r) != ' ') --a;
      while (At(b + 1, r) != ' ') ++b;
      label.insert(label.begin(), rows_[r].substr(a, b - a + 1));
    }
    return label;
  }

  // On a track row at (x, y): the other '+' of the same run that continues `vertical` (-1 up,
  // +1 down). Crossing vertical lines ('|') are part of the run; a space ends it.
  std::optional<int> RunExit(int x, int y, int vertical) const {
    std::optional<int> found;
    for (int dir : {-1, 1}) {
      for (int i = x + dir;; i += dir) {
        const char c = At(i, y);
        if (c != '-' && c != '|' && c != '+') break;
        if (c != '+') continue;
        const char next = At(i, y + vertical);
        if (next != ' ' && next != '-') {
          if (found) return std::nullopt;  // two ways to go: ambiguous
          found = i;
        }
      }
    }
    return found;
  }

  // From a 'v' at (x, y) up to the box the line leaves.
  std::optional<ReadEdge> FollowUp(int x, int y, std::string* why) const {
    const Box* to = BoxWithBorderAt(x, y + 1, false);
    if (!to || At(x, y + 1) != '+') return Fail(why, "no box port under it");
    ReadEdge edge{"", to->name, LabelAbove(x, y)};
    int cx = x, cy = y - 1;
    while (cy >= 0) {
      const char c = At(cx, cy);
      if (c == ' ' || c == '-') return Fail(why, "the line breaks off going up");
      if (c == '+') {
        if (const Box* from = BoxWithBorderAt(cx, cy, true)) {
          edge.from = from->name;
          return edge;
        }
        const char above = At(cx, cy - 1);
        if (above == ' ' || above == '-') {
          const auto exit = RunExit(cx, cy, -1);
          if (!exit) return Fail(why, "a track without one way up");
          cx = *exit;
        }
      }
      --cy;
    }
    return Fail(why, "ran off the top");
  }

  // From a '^' at (x, y) down to the box the edge comes from.
  std::optional<ReadEdge> FollowDown(int x, int y, std::string* why) const {
    const Box* to = BoxWithBorderAt(x, y - 1, true);
    if (!to) return Fail(why, "no box above it");
    int cx = x, cy = y + 1;
    while (cy < static_cast<int>(rows_.size())) {
      const char c = At(cx, cy);
      if (c == ' ' || c == '-') return Fail(why, "the line breaks off going down");
      if (c == '+') {
        if (const Box* from = BoxWithBorderAt(cx, cy, false)) {
          return ReadEdge{from->name, to->name, LabelAbove(cx, cy - 1)};
        }
        const char below = At(cx, cy + 1);
        if (below == ' ' || below == '-') {
          const auto exit = RunExit(cx, cy, +1);
          if (!exit) return Fail(why, "a track without one way down");
          cx = *exit;
        }
      }
      ++cy;
    }
    return Fail(why, "ran off the bottom");
  }

  static std::optional<ReadEdge> Fail(std::string* why, const std::string& text) {
    *why = text;
    return std::nullopt;
  }

  std::vector<std::string> rows_;
  std::vector<Box> boxes_;
};

}  // namespace smi::plugin::testing
