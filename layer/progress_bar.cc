#include "layer/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace anysnap::layer {

namespace {
constexpr int kWidth = 30;
}  // namespace

std::string ProgressBar::Render(int percent) const {
  int filled = percent * kWidth / 100;
  char tail[16];
  std::snprintf(tail, sizeof(tail), "] %3d%%", percent);
  return label_ + " [" + std::string(filled, '#') + std::string(kWidth - filled, '.') + tail;
}

void ProgressBar::Update(double fraction) {
  int percent = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 100);
  if (percent == shown_) return;
  shown_ = percent;
  Write("\r" + Render(percent));
}

void ProgressBar::Clear() {
  if (shown_ < 0) return;
  Write("\r" + std::string(Render(shown_).size(), ' ') + "\r");
  shown_ = -1;
}

void ProgressBar::Write(const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a progress bar is not worth failing over
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace anysnap::layer
