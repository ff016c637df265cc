#include "layer/progress_bar.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "anysnap/unique_fd.h"

namespace anysnap::layer {
namespace {

TEST(ProgressBarTest, RendersAndRedrawsOnlyOnChange) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ProgressBar bar(write_end.get(), "zip");
  EXPECT_EQ(bar.Render(0), "zip [..............................]   0%");
  EXPECT_EQ(bar.Render(50), "zip [###############...............]  50%");
  EXPECT_EQ(bar.Render(100), "zip [##############################] 100%");
  bar.Update(0.5);
  bar.Update(0.501);  // still 50%: nothing drawn
  bar.Update(2.0);    // clamped
  write_end.Reset();
  std::string out(4096, '\0');
  ssize_t n = ::read(read_end.get(), out.data(), out.size());
  ASSERT_GT(n, 0);
  out.resize(static_cast<size_t>(n));
  EXPECT_EQ(out, "\r" + bar.Render(50) + "\r" + bar.Render(100));
}

}  // namespace
}  // namespace anysnap::layer
