#pragma once
// The page's own files (cli/web/), compiled in by the build (cli/embed_web.cmake): the HTML
// around the data, its style and its script.
#include <string_view>

namespace tapegrad::cli::web {

extern const std::string_view stepper_html;
extern const std::string_view stepper_css;
extern const std::string_view stepper_js;

}  // namespace tapegrad::cli::web
