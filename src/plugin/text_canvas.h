// A grid of characters for drawing boxes and lines as text, which refuses to let two lines share
// a stretch: each cell remembers which line drew it, and a line may only cross another (a vertical
// over a horizontal), never run along it. Cells carry the index of the edge whose health colours
// them.
#pragma once

#include <string>
#include <vector>

#include "plugin/readings.h"

namespace smi::plugin {

class TextCanvas {
 public:
  TextCanvas(int width, int height);

  // False once anything was drawn where it may not be (outside the grid, over another line).
  bool ok() const { return ok_; }

  // A character of a box (border or text); the cell must be free.
  void Box(int x, int y, char ch);
  // A port on a box's border: the border's '-' becomes '+'.
  void BoxPort(int x, int y);
  // A horizontal stretch of `line`: where a vertical line of another crosses it, the vertical
  // stays on top.
  void Horizontal(int x, int y, int line, int color);
  void Vertical(int x, int y, int line, int color);
  // Corners, junctions, arrowheads and label text: the cell must be free or `line`'s own.
  void Mark(int x, int y, char ch, int line, int color);

  // The text, trailing spaces trimmed; with `color`, each run of cells of one edge wrapped in the
  // ANSI colour of `health[edge]`.
  std::string Render(const std::vector<Health>& health, bool color) const;

 private:
  enum class Owner { kEmpty, kBox, kHorizontal, kVertical, kMark };
  struct Cell {
    char ch = ' ';
    Owner owner = Owner::kEmpty;
    int line = -1;   // the line drawn here
    int color = -1;  // the edge whose health colours the cell
  };

  Cell& At(int x, int y);

  int width_;
  std::vector<std::vector<Cell>> cells_;
  Cell scratch_;
  bool ok_ = true;
};

// The ANSI colour code of a health ("32" green, "33" yellow, "31" red, "90" grey).
const char* AnsiColor(Health health);

}  // namespace smi::plugin
