// The built-in chat page served at "/": static HTML + JS, no external resources.
#pragma once
#include <string>

namespace citadel {
const std::string& chat_page_html();
}
