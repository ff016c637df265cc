// ProgressBar draws "[#####.....]  45%" on one terminal line, redrawn in place
// with a carriage return, and only when the shown percentage changes. The caller
// decides whether the descriptor is a terminal; the bar never checks.
//
// Not thread-safe.
#ifndef ANYSNAP_LAYER_PROGRESS_BAR_H_
#define ANYSNAP_LAYER_PROGRESS_BAR_H_

#include <string>

namespace anysnap::layer {

class ProgressBar {
 public:
  ProgressBar(int fd, std::string label) : fd_(fd), label_(std::move(label)) {}

  // Shows `fraction` (clamped to 0..1).
  void Update(double fraction);
  // Clears the line, so what is printed next starts clean.
  void Clear();

  // The line Update draws for `percent`, without the leading carriage return.
  std::string Render(int percent) const;

 private:
  void Write(const std::string& text);

  int fd_;
  std::string label_;
  int shown_ = -1;
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_PROGRESS_BAR_H_
