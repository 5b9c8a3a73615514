#include "plugin/box_drawing.h"

#include "plugin/text_canvas.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>

namespace smi::plugin {

namespace {

constexpr int kGap = 2;  // columns between two boxes (or lines) of a layer

// One node of the layered layout: a box, or a point an edge passes through on a layer it crosses.
struct LayoutNode {
  bool dummy = false;
  size_t edge = 0;  // dummies: the edge passing through
  int layer = 0;
  int width = 1;
  int height = 0;  // boxes: lines + 2 borders
  double x = 0;    // left column while placing
  int left = 0;
  std::vector<size_t> in, out;           // segments from the layer above / to the layer below
  std::vector<int> in_ports, out_ports;  // column offsets, in the order of `in` / `out`
  double center() const { return x + width / 2.0; }
};

// The piece of an edge between two adjacent layers.
struct Segment {
  size_t upper = 0, lower = 0;  // layout nodes
  size_t edge = 0;
  bool reversed = false;  // the edge points upwards: from `lower`'s side to `upper`'s
  int xs = 0, xt = 0;     // columns where it leaves `upper` and enters `lower`
};

// A line of the drawing: the segments leaving through one port, sharing its vertical stub and,
// when any of them bends, one horizontal stretch (a bus).
struct Line {
  int layer = 0;
  int xs = 0;
  std::vector<size_t> segs;
  int a = 0, b = 0;  // the columns its horizontal stretch spans
  bool bent = false;
  int track = 0;  // its row within the channel (1 = first below the stub row); 0: straight
};

// Least-squares positions keeping order and spacing: x[i+1] >= x[i] + width[i] + kGap, as close
// to `desired` as possible (pool-adjacent-violators on the offsets).
void PlaceInOrder(std::vector<LayoutNode>& nodes, const std::vector<size_t>& order,
                  const std::vector<double>& desired) {
  const size_t n = order.size();
  std::vector<double> offset(n, 0.0);
  for (size_t i = 1; i < n; ++i) offset[i] = offset[i - 1] + nodes[order[i - 1]].width + kGap;
  struct Block {
    double sum;
    int count;
    double mean() const { return sum / count; }
  };
  std::vector<Block> blocks;
  for (size_t i = 0; i < n; ++i) {
    blocks.push_back({desired[i] - offset[i], 1});
    while (blocks.size() > 1 && blocks[blocks.size() - 2].mean() > blocks.back().mean()) {
      blocks[blocks.size() - 2].sum += blocks.back().sum;
      blocks[blocks.size() - 2].count += blocks.back().count;
      blocks.pop_back();
    }
  }
  size_t i = 0;
  for (const auto& b : blocks) {
    for (int k = 0; k < b.count; ++k, ++i) nodes[order[i]].x = b.mean() + offset[i];
  }
}

class Layout {
 public:
  Layout(const std::vector<DrawingNode>& nodes, const std::vector<DrawingEdge>& edges)
      : input_nodes_(nodes), input_edges_(edges) {}

  std::optional<std::string> Draw(const DrawingOptions& options) {
    BreakCyclesAndRank();
    BuildSegments();
    OrderLayers();
    SizeNodes();
    PlaceNodes();
    AssignPorts();
    Straighten();
    Normalize();
    AssignPorts();
    int width = 0;
    for (const auto& n : nodes_) width = std::max(width, n.left + n.width);
    if (static_cast<size_t>(width) > options.max_width) return std::nullopt;
    if (!AssignTracks()) return std::nullopt;
    return Render(width, options.color);
  }

 private:
  // Reverses the edges that close a cycle (depth-first, from the nodes nobody calls), then puts
  // every node on the layer below its lowest caller, and callers just above what they call.
  void BreakCyclesAndRank() {
    const size_t n = input_nodes_.size();
    std::vector<std::vector<size_t>> out(n);
    std::vector<int> indegree(n, 0);
    for (size_t e = 0; e < input_edges_.size(); ++e) {
      out[input_edges_[e].from].push_back(e);
      ++indegree[input_edges_[e].to];
    }
    reversed_.assign(input_edges_.size(), false);
    std::vector<int> state(n, 0);
    std::function<void(size_t)> visit = [&](size_t v) {
      state[v] = 1;
      for (size_t e : out[v]) {
        const size_t w = input_edges_[e].to;
        if (state[w] == 1) {
          reversed_[e] = true;
        } else if (state[w] == 0) {
          visit(w);
        }
      }
      state[v] = 2;
    };
    for (size_t v = 0; v < n; ++v) {
      if (indegree[v] == 0 && state[v] == 0) visit(v);
    }
    for (size_t v = 0; v < n; ++v) {
      if (state[v] == 0) visit(v);
    }
    // Longest path from the sources, in topological order.
    std::vector<std::vector<size_t>> succ(n), pred(n);
    for (size_t e = 0; e < input_edges_.size(); ++e) {
      const auto [u, v] = Ends(e);
      succ[u].push_back(v);
      pred[v].push_back(u);
    }
    rank_.assign(n, 0);
    std::vector<int> remaining(n);
    std::vector<size_t> ready;
    for (size_t v = 0; v < n; ++v) {
      remaining[v] = static_cast<int>(pred[v].size());
      if (remaining[v] == 0) ready.push_back(v);
    }
    while (!ready.empty()) {
      const size_t u = ready.back();
      ready.pop_back();
      for (size_t v : succ[u]) {
        rank_[v] = std::max(rank_[v], rank_[u] + 1);
        if (--remaining[v] == 0) ready.push_back(v);
      }
    }
    for (size_t v = 0; v < n; ++v) {
      if (pred[v].empty() && !succ[v].empty()) {
        int lowest = rank_[succ[v][0]];
        for (size_t w : succ[v]) lowest = std::min(lowest, rank_[w]);
        rank_[v] = lowest - 1;
      }
    }
  }

  // The layout's (upper, lower) ends of an input edge.
  std::pair<size_t, size_t> Ends(size_t e) const {
    const auto& edge = input_edges_[e];
    return reversed_[e] ? std::pair{edge.to, edge.from} : std::pair{edge.from, edge.to};
  }

  void BuildSegments() {
    nodes_.resize(input_nodes_.size());
    int layers = 1;
    for (size_t v = 0; v < input_nodes_.size(); ++v) {
      nodes_[v].layer = rank_[v];
      layers = std::max(layers, rank_[v] + 1);
    }
    for (size_t e = 0; e < input_edges_.size(); ++e) {
      const auto [u, v] = Ends(e);
      size_t from = u;
      for (int layer = rank_[u] + 1; layer <= rank_[v]; ++layer) {
        size_t to = v;
        if (layer < rank_[v]) {
          LayoutNode dummy;
          dummy.dummy = true;
          dummy.edge = e;
          dummy.layer = layer;
          nodes_.push_back(dummy);
          to = nodes_.size() - 1;
        }
        Segment s;
        s.upper = from;
        s.lower = to;
        s.edge = e;
        s.reversed = reversed_[e];
        segments_.push_back(s);
        nodes_[from].out.push_back(segments_.size() - 1);
        nodes_[to].in.push_back(segments_.size() - 1);
        from = to;
      }
    }
    layers_.assign(layers, {});
    for (size_t v = 0; v < nodes_.size(); ++v) layers_[nodes_[v].layer].push_back(v);
  }

  // Orders each layer by the mean position of its neighbours (a few sweeps down and up), keeping
  // the order with the fewest crossings.
  void OrderLayers() {
    auto positions = [&]() {
      std::vector<double> pos(nodes_.size());
      for (const auto& layer : layers_) {
        for (size_t i = 0; i < layer.size(); ++i) pos[layer[i]] = static_cast<double>(i);
      }
      return pos;
    };
    auto crossings = [&]() {
      const auto pos = positions();
      long total = 0;
      for (size_t a = 0; a < segments_.size(); ++a) {
        for (size_t b = a + 1; b < segments_.size(); ++b) {
          const auto &s = segments_[a], &t = segments_[b];
          if (nodes_[s.upper].layer != nodes_[t.upper].layer) continue;
          if ((pos[s.upper] - pos[t.upper]) * (pos[s.lower] - pos[t.lower]) < 0) ++total;
        }
      }
      return total;
    };
    auto sweep = [&](bool down) {
      const int count = static_cast<int>(layers_.size());
      for (int step = 1; step < count; ++step) {
        const int l = down ? step : count - 1 - step;
        const auto pos = positions();
        std::vector<std::pair<double, size_t>> keyed;
        for (size_t v : layers_[l]) {
          const auto& segs = down ? nodes_[v].in : nodes_[v].out;
          double key = pos[v];
          if (!segs.empty()) {
            double sum = 0;
            for (size_t s : segs) sum += pos[down ? segments_[s].upper : segments_[s].lower];
            key = sum / static_cast<double>(segs.size());
          }
          keyed.push_back({key, v});
        }
        std::stable_sort(keyed.begin(), keyed.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t i = 0; i < keyed.size(); ++i) layers_[l][i] = keyed[i].second;
      }
    };
    auto best = layers_;
    long best_crossings = crossings();
    for (int round = 0; round < 6 && best_crossings > 0; ++round) {
      sweep(round % 2 == 0);
      const long c = crossings();
      if (c < best_crossings) {
        best_crossings = c;
        best = layers_;
      }
    }
    layers_ = best;
  }

  void SizeNodes() {
    label_width_ = 1;
    for (const auto& e : input_edges_) {
      for (const auto& line : e.label) {
        label_width_ = std::max(label_width_, static_cast<int>(line.size()));
      }
    }
    const int pitch = label_width_ + 1;
    for (size_t v = 0; v < nodes_.size(); ++v) {
      LayoutNode& n = nodes_[v];
      if (n.dummy) continue;
      int text = 0;
      for (const auto& line : input_nodes_[v].lines) {
        text = std::max(text, static_cast<int>(line.size()));
      }
      const int in = static_cast<int>(n.in.size());
      int ports = 0;  // one for the edges pointing down, one per edge pointing up at the box
      bool down = false;
      for (size_t s : n.out) {
        if (segments_[s].reversed) {
          ++ports;
        } else {
          down = true;
        }
      }
      ports += down ? 1 : 0;
      n.width = std::max({text + 4, in > 0 ? in * pitch - 1 : 0, ports > 1 ? 2 * ports + 3 : 0});
      n.height = static_cast<int>(input_nodes_[v].lines.size()) + 2;
    }
  }

  void PlaceNodes() {
    for (const auto& layer : layers_) {
      double x = 0;
      for (size_t v : layer) {
        nodes_[v].x = x;
        x += nodes_[v].width + kGap;
      }
    }
    auto pass = [&](bool down) {
      const int count = static_cast<int>(layers_.size());
      for (int step = 1; step < count; ++step) {
        const int l = down ? step : count - 1 - step;
        std::vector<double> desired;
        for (size_t v : layers_[l]) {
          const auto& segs = down ? nodes_[v].in : nodes_[v].out;
          if (segs.empty()) {
            desired.push_back(nodes_[v].x);
            continue;
          }
          double sum = 0;
          for (size_t s : segs) {
            sum += nodes_[down ? segments_[s].upper : segments_[s].lower].center();
          }
          desired.push_back(sum / static_cast<double>(segs.size()) - nodes_[v].width / 2.0);
        }
        PlaceInOrder(nodes_, layers_[l], desired);
      }
    };
    for (int round = 0; round < 4; ++round) {
      pass(true);
      pass(false);
    }
    pass(true);
    // Whole columns, spacing kept.
    for (const auto& layer : layers_) {
      int next = std::numeric_limits<int>::min();
      for (size_t v : layer) {
        nodes_[v].left = std::max(static_cast<int>(std::lround(nodes_[v].x)), next);
        next = nodes_[v].left + nodes_[v].width + kGap;
      }
    }
    Normalize();
  }

  void Normalize() {
    int lowest = std::numeric_limits<int>::max();
    for (const auto& n : nodes_) lowest = std::min(lowest, n.left);
    for (auto& n : nodes_) {
      n.left -= lowest;
      n.x = n.left;
    }
  }

  // Ports: where segments leave the bottom of their upper node and enter the top of their lower
  // one. The edges a box points down from share one port and a bus (as the spec's sketch fans out
  // from a box); an edge pointing up at the box gets a port of its own for its '^'. Ports are
  // ordered by the position of the other end so that a node's lines do not cross each other.
  void AssignPorts() {
    for (auto& n : nodes_) {
      std::vector<std::pair<double, std::vector<size_t>>> ports;  // (where the ends are, segs)
      std::vector<size_t> down;
      for (size_t s : n.out) {
        if (n.dummy || !segments_[s].reversed) {
          down.push_back(s);
        } else {
          ports.push_back({nodes_[segments_[s].lower].center(), {s}});
        }
      }
      if (!down.empty()) {
        double sum = 0;
        for (size_t s : down) sum += nodes_[segments_[s].lower].center();
        ports.push_back({sum / static_cast<double>(down.size()), down});
      }
      std::stable_sort(ports.begin(), ports.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      n.out_ports.clear();
      const int count = static_cast<int>(ports.size());
      for (int k = 0; k < count; ++k) {
        int offset = 0;
        if (n.dummy) {
          offset = 0;
        } else if (count == 1) {
          offset = n.width / 2;
        } else {
          offset = 2 + static_cast<int>(
                           std::lround(static_cast<double>(k) * (n.width - 5) / (count - 1)));
        }
        n.out_ports.push_back(offset);
        for (size_t s : ports[k].second) segments_[s].xs = n.left + offset;
      }
    }
    const int pitch = label_width_ + 1;
    for (auto& n : nodes_) {
      std::stable_sort(n.in.begin(), n.in.end(), [&](size_t a, size_t b) {
        const auto &sa = segments_[a], &sb = segments_[b];
        if (sa.xs != sb.xs) return sa.xs < sb.xs;
        return nodes_[sa.upper].left < nodes_[sb.upper].left;
      });
      n.in_ports.clear();
      const int count = static_cast<int>(n.in.size());
      const int total = count * pitch - 1;
      for (int k = 0; k < count; ++k) {
        if (n.dummy) {
          n.in_ports.push_back(0);
        } else if (count == 1) {
          // The middle, or just left of it when a label as wide as the box would stick out.
          const bool fits = label_width_ / 2 <= (n.width - 1) / 2;
          n.in_ports.push_back(fits ? n.width / 2 : (n.width - 1) / 2);
        } else {
          n.in_ports.push_back((n.width - total) / 2 + (label_width_ - 1) / 2 + k * pitch);
        }
      }
      for (int k = 0; k < count; ++k) segments_[n.in[k]].xt = n.left + n.in_ports[k];
    }
  }

  // Moves a node sideways by `delta` when its layer leaves room for it.
  bool TryShift(size_t v, int delta) {
    if (delta == 0) return true;
    const auto& layer = layers_[nodes_[v].layer];
    const auto it = std::find(layer.begin(), layer.end(), v);
    const int left = nodes_[v].left + delta;
    if (it != layer.begin()) {
      const auto& prev = nodes_[*(it - 1)];
      if (prev.left + prev.width + kGap > left) return false;
    }
    if (it + 1 != layer.end()) {
      if (left + nodes_[v].width + kGap > nodes_[*(it + 1)].left) return false;
    }
    nodes_[v].left = left;
    return true;
  }

  // Makes one-to-one connections straight where a sideways move of a node allows it: a line
  // that needs no horizontal stretch reads best and takes no row.
  void Straighten() {
    for (size_t l = 1; l < layers_.size(); ++l) {
      for (size_t v : layers_[l]) {
        if (nodes_[v].in.size() != 1) continue;
        const Segment& s = segments_[nodes_[v].in[0]];
        if (nodes_[s.upper].out.size() != 1) continue;
        if (TryShift(v, s.xs - s.xt)) AssignPorts();
      }
    }
    for (size_t l = layers_.size(); l-- > 1;) {
      for (size_t v : layers_[l - 1]) {
        if (nodes_[v].out.size() != 1 || !nodes_[v].in.empty()) continue;
        const Segment& s = segments_[nodes_[v].out[0]];
        if (s.xs == s.xt) continue;
        if (TryShift(v, s.xt - s.xs)) AssignPorts();
      }
    }
  }

  // The lines of a channel: segments leaving through the same port share one (a bus).
  void BuildLines() {
    lines_.clear();
    std::map<std::pair<size_t, int>, size_t> by_port;
    for (size_t s = 0; s < segments_.size(); ++s) {
      const auto key = std::pair{segments_[s].upper, segments_[s].xs};
      const auto [it, added] = by_port.emplace(key, lines_.size());
      if (added) {
        Line line;
        line.layer = nodes_[segments_[s].upper].layer;
        line.xs = segments_[s].xs;
        line.a = line.b = line.xs;
        lines_.push_back(line);
      }
      Line& line = lines_[it->second];
      line.segs.push_back(s);
      line.a = std::min(line.a, segments_[s].xt);
      line.b = std::max(line.b, segments_[s].xt);
      if (segments_[s].xt != line.xs) line.bent = true;
    }
  }

  // Gives each bent line of a channel a row for its horizontal stretch. A line leaving at the
  // column where another enters must turn above it, or their vertical stretches would overlap;
  // stretches sharing a row keep a column apart. Lines going right turn in order from the
  // rightmost, lines going left from the leftmost, which keeps their stretches from crossing.
  bool AssignTracks() {
    BuildLines();
    tracks_.assign(layers_.size(), 0);
    for (size_t l = 0; l + 1 < layers_.size(); ++l) {
      std::vector<size_t> bent;
      for (size_t i = 0; i < lines_.size(); ++i) {
        if (lines_[i].layer == static_cast<int>(l) && lines_[i].bent) bent.push_back(i);
      }
      std::map<size_t, std::vector<size_t>> below;  // line -> lines that must turn below it
      std::map<size_t, int> waiting;
      for (size_t a : bent) {
        for (size_t b : bent) {
          if (a == b) continue;
          for (size_t s : lines_[b].segs) {
            if (segments_[s].xt == lines_[a].xs) {
              below[a].push_back(b);
              ++waiting[b];
            }
          }
        }
      }
      auto key = [&](size_t i) {
        const Line& line = lines_[i];
        double sum = 0;
        for (size_t s : line.segs) sum += segments_[s].xt;
        const bool right = sum / static_cast<double>(line.segs.size()) > line.xs;
        return std::pair{right ? 0 : 1, right ? -line.xs : line.xs};
      };
      std::vector<size_t> ready;
      for (size_t i : bent) {
        if (waiting[i] == 0) ready.push_back(i);
      }
      std::vector<std::vector<std::pair<int, int>>> used;  // per track: occupied intervals
      std::map<size_t, int> lowest;                        // the first track a line may use
      size_t placed = 0;
      while (!ready.empty()) {
        const auto pick = std::min_element(ready.begin(), ready.end(),
                                           [&](size_t a, size_t b) { return key(a) < key(b); });
        const size_t i = *pick;
        ready.erase(pick);
        const int a = lines_[i].a - 1, b = lines_[i].b + 1;
        int t = std::max(1, lowest[i]);
        for (;; ++t) {
          if (static_cast<int>(used.size()) < t) used.resize(t);
          bool free = true;
          for (const auto& [ua, ub] : used[t - 1]) {
            if (!(b < ua || ub < a)) free = false;
          }
          if (free) break;
        }
        used[t - 1].push_back({a, b});
        lines_[i].track = t;
        tracks_[l] = std::max(tracks_[l], t);
        ++placed;
        for (size_t next : below[i]) {
          // Two rows below: a corner right above another would read as one line.
          lowest[next] = std::max(lowest[next], t + 2);
          if (--waiting[next] == 0) ready.push_back(next);
        }
      }
      if (placed != bent.size()) return false;  // the constraints form a cycle
    }
    return true;
  }

  // Rows the tracks of the channel below layer `l` take, with a row under them.
  int Tracks(int l) const { return tracks_[l] > 0 ? tracks_[l] + 1 : 0; }

  // The health index (edge) whose colour a bus cell at column x takes: the branch it leads to
  // next, away from the port.
  int BusColor(const Line& line, int x) const {
    int best = -1, best_x = 0;
    for (size_t s : line.segs) {
      const int xt = segments_[s].xt;
      const bool ahead = x >= line.xs ? xt >= x : xt <= x;
      if (!ahead) continue;
      if (best < 0 || std::abs(xt - x) < std::abs(best_x - x)) {
        best = static_cast<int>(segments_[s].edge);
        best_x = xt;
      }
    }
    return best;
  }

  std::optional<std::string> Render(int width, bool color) {
    const int count = static_cast<int>(layers_.size());
    std::vector<int> layer_height(count, 1), layer_top(count, 0), labels(count, 0);
    for (const auto& n : nodes_) {
      if (!n.dummy) layer_height[n.layer] = std::max(layer_height[n.layer], n.height);
    }
    for (const auto& s : segments_) {
      if (!nodes_[s.lower].dummy) {
        labels[nodes_[s.upper].layer] = std::max(
            labels[nodes_[s.upper].layer], static_cast<int>(input_edges_[s.edge].label.size()));
      }
    }
    // Below each layer: one row where lines leave, the tracks and a row for the lines leaving
    // them, the labels, the arrowheads.
    int y = 0;
    for (int l = 0; l < count; ++l) {
      layer_top[l] = y;
      y += layer_height[l];
      if (l + 1 < count) y += 1 + Tracks(l) + labels[l] + 1;
    }
    TextCanvas canvas(width, y);
    const int dummy_ids = static_cast<int>(lines_.size());
    for (size_t v = 0; v < nodes_.size(); ++v) {
      const LayoutNode& n = nodes_[v];
      const int top = layer_top[n.layer];
      if (n.dummy) {
        const int id = dummy_ids + static_cast<int>(v);
        for (int r = 0; r < layer_height[n.layer]; ++r) {
          canvas.Vertical(n.left, top + r, id, static_cast<int>(n.edge));
        }
        continue;
      }
      DrawBox(canvas, v, top);
    }
    for (size_t i = 0; i < lines_.size(); ++i) {
      const Line& line = lines_[i];
      const int id = static_cast<int>(i);
      const int l = line.layer;
      const LayoutNode& upper = nodes_[segments_[line.segs[0]].upper];
      const int stub = layer_top[l] + layer_height[l];
      const int label_top = stub + 1 + Tracks(l);
      const int arrow = label_top + labels[l];
      // A line of one segment has its edge's colour all along; a bus only below its branches.
      const int own = line.segs.size() == 1 ? static_cast<int>(segments_[line.segs[0]].edge) : -1;
      int y0 = upper.dummy ? stub : layer_top[l] + upper.height;
      if (!upper.dummy && segments_[line.segs[0]].reversed) {
        canvas.Mark(line.xs, y0, '^', id, own);  // the edge points up, at this box
        ++y0;
      }
      const int turn = line.bent ? stub + line.track : arrow;
      for (int r = y0; r < turn; ++r) canvas.Vertical(line.xs, r, id, own);
      if (line.bent) {
        canvas.Mark(line.xs, turn, '+', id, own);
        for (int x = line.a; x <= line.b; ++x) {
          if (x != line.xs) canvas.Horizontal(x, turn, id, BusColor(line, x));
        }
      }
      for (size_t s : line.segs) {
        const Segment& seg = segments_[s];
        const int edge = static_cast<int>(seg.edge);
        if (line.bent) {
          if (seg.xt != line.xs) canvas.Mark(seg.xt, turn, '+', id, edge);
          for (int r = turn + 1; r < arrow; ++r) canvas.Vertical(seg.xt, r, id, edge);
        }
        if (nodes_[seg.lower].dummy) {
          canvas.Vertical(seg.xt, arrow, id, edge);
          continue;
        }
        const auto& label = input_edges_[seg.edge].label;
        const int first = arrow - static_cast<int>(label.size());
        for (size_t k = 0; k < label.size(); ++k) {
          const std::string& text = label[k];
          const int x0 = seg.xt - (static_cast<int>(text.size()) - 1) / 2;
          for (size_t c = 0; c < text.size(); ++c) {
            canvas.Mark(x0 + static_cast<int>(c), first + static_cast<int>(k), text[c], id, edge);
          }
        }
        if (seg.reversed) {
          canvas.Vertical(seg.xt, arrow, id, edge);
        } else {
          canvas.Mark(seg.xt, arrow, 'v', id, edge);
        }
      }
    }
    if (!canvas.ok()) return std::nullopt;
    std::vector<Health> health;
    for (const auto& e : input_edges_) health.push_back(e.health);
    return canvas.Render(health, color);
  }

  void DrawBox(TextCanvas& canvas, size_t v, int top) {
    const LayoutNode& n = nodes_[v];
    const int bottom = top + n.height - 1;
    const int right = n.left + n.width - 1;
    for (int x = n.left; x <= right; ++x) {
      const bool corner = x == n.left || x == right;
      canvas.Box(x, top, corner ? '+' : '-');
      canvas.Box(x, bottom, corner ? '+' : '-');
    }
    const auto& lines = input_nodes_[v].lines;
    for (size_t k = 0; k < lines.size(); ++k) {
      const int y = top + 1 + static_cast<int>(k);
      canvas.Box(n.left, y, '|');
      canvas.Box(right, y, '|');
      const int inner = n.width - 2;
      const int pad = (inner - static_cast<int>(lines[k].size())) / 2;
      for (int x = 0; x < inner; ++x) {
        const int i = x - pad;
        const char ch = i >= 0 && i < static_cast<int>(lines[k].size())
                            ? lines[k][static_cast<size_t>(i)]
                            : ' ';
        canvas.Box(n.left + 1 + x, y, ch);
      }
    }
    // Where lines meet the border.
    for (int p : n.in_ports) canvas.BoxPort(n.left + p, top);
    for (int p : n.out_ports) canvas.BoxPort(n.left + p, bottom);
  }

  const std::vector<DrawingNode>& input_nodes_;
  const std::vector<DrawingEdge>& input_edges_;
  std::vector<bool> reversed_;
  std::vector<int> rank_;
  std::vector<LayoutNode> nodes_;
  std::vector<Segment> segments_;
  std::vector<std::vector<size_t>> layers_;
  std::vector<int> tracks_;
  std::vector<Line> lines_;
  int label_width_ = 1;
};

}  // namespace

std::optional<std::string> DrawBoxesAndArrows(const std::vector<DrawingNode>& nodes,
                                              const std::vector<DrawingEdge>& edges,
                                              const DrawingOptions& options) {
  for (const auto& e : edges) {
    if (e.from >= nodes.size() || e.to >= nodes.size() || e.from == e.to) return std::nullopt;
  }
  if (nodes.empty()) return std::string();
  return Layout(nodes, edges).Draw(options);
}

}  // namespace smi::plugin
