#include "plugin/text_canvas.h"

namespace smi::plugin {

TextCanvas::TextCanvas(int width, int height)
    : width_(width), cells_(static_cast<size_t>(height), std::vector<Cell>(width)) {}

TextCanvas::Cell& TextCanvas::At(int x, int y) {
  if (y < 0 || y >= static_cast<int>(cells_.size()) || x < 0 || x >= width_) {
    ok_ = false;
    return scratch_;
  }
  return cells_[y][x];
}

void TextCanvas::Box(int x, int y, char ch) {
  Cell& c = At(x, y);
  if (c.owner != Owner::kEmpty) ok_ = false;
  c = {ch, Owner::kBox, -1, -1};
}

void TextCanvas::BoxPort(int x, int y) {
  Cell& c = At(x, y);
  if (c.owner != Owner::kBox) ok_ = false;
  c.ch = '+';
}

void TextCanvas::Horizontal(int x, int y, int line, int color) {
  Cell& c = At(x, y);
  if (c.owner == Owner::kEmpty) {
    c = {'-', Owner::kHorizontal, line, color};
  } else if (c.owner == Owner::kVertical && c.line != line) {
    // a crossing: keep the vertical
  } else if (c.line != line) {
    ok_ = false;
  }
}

void TextCanvas::Vertical(int x, int y, int line, int color) {
  Cell& c = At(x, y);
  if (c.owner == Owner::kEmpty || (c.owner == Owner::kHorizontal && c.line != line)) {
    c = {'|', Owner::kVertical, line, color};
  } else if (c.line != line) {
    ok_ = false;
  }
}

void TextCanvas::Mark(int x, int y, char ch, int line, int color) {
  Cell& c = At(x, y);
  if (c.owner != Owner::kEmpty && c.line != line) ok_ = false;
  c = {ch, Owner::kMark, line, color};
}

std::string TextCanvas::Render(const std::vector<Health>& health, bool color) const {
  std::string out;
  for (const auto& row : cells_) {
    int end = width_;
    while (end > 0 && row[end - 1].ch == ' ') --end;
    int current = -1;  // the edge whose colour is on
    for (int x = 0; x < end; ++x) {
      const Cell& c = row[x];
      const int want =
          color && c.ch != ' ' && c.color >= 0 && c.color < static_cast<int>(health.size())
              ? c.color
              : -1;
      if (want != current) {
        if (current >= 0) out += "\033[0m";
        if (want >= 0) out += std::string("\033[") + AnsiColor(health[want]) + "m";
        current = want;
      }
      out += c.ch;
    }
    if (current >= 0) out += "\033[0m";
    out += "\n";
  }
  return out;
}

const char* AnsiColor(Health health) {
  switch (health) {
    case Health::kGood:
      return "32";
    case Health::kDegraded:
      return "33";
    case Health::kFailing:
      return "31";
    case Health::kIdle:
      break;
  }
  return "90";
}

}  // namespace smi::plugin
