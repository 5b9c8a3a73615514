// std::visit over a set of lambdas, one per alternative: a missing alternative does not compile.
#pragma once

namespace smi::base {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace smi::base
