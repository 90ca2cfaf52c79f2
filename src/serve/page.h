// serve/page.h
//
// The status page's files (src/serve/page/: HTML, script, styles, the vendored licence notes), embedded at build
// time by cmake/embed_page.cmake, so `walferry serve` needs neither files nor a network to serve them. Pure.
#pragma once

#include <optional>
#include <string_view>

namespace walferry::serve {

// The file `name` of src/serve/page/ (e.g. "index.html"); nullopt when there is none.
std::optional<std::string_view> PageAsset(std::string_view name);

}  // namespace walferry::serve
