// Overloaded{lambdas...}: one visitor from several lambdas, for std::visit over a variant. A
// variant alternative no lambda accepts is a compile error, so a new alternative cannot be
// silently ignored by a visitor that lists the cases one by one.
#pragma once

namespace smi::base {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace smi::base
