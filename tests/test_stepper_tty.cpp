// `tapegrad step` in a real terminal: the built command runs in a tmux pane (its own tmux
// server, on a private socket), the test types keys into it and reads the screen back.
// tmux is a test dependency (scripts/install-deps.sh installs it).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

using testing::check_contains;

namespace {

struct Result {
    std::string out;
    int status = -1;
};

Result shell(const std::string& cmd) {
    Result r;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    r.status = ::pclose(p);
    return r;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
    return n;
}

// The shell in the pane prints this after the command, with its exit status. (Asking tmux for
// the pane's exit status is racy: under load its server was seen to leave the exited command
// unreaped for a long time, while the shell that runs it always reaps it at once.)
const std::string kExited = "[exited with status ";

// One tmux server of our own; killed (with its panes) when the test ends.
class Tmux {
  public:
    // A socket per instance: a server that is still shutting down is never reused.
    Tmux() {
        static int instances = 0;
        socket_ = "tapegrad-test-" + std::to_string(::getpid()) + "-" + std::to_string(++instances);
    }
    ~Tmux() { shell(tmux("kill-server")); }

    // A detached session running command in a 120x50 terminal; the pane stays after the
    // shell exits so that the last screen can be read.
    void start(const std::string& session, const std::string& command) {
        const auto r =
            shell(tmux("new-session -d -s " + session + " -x 120 -y 50 '" + command + "; echo \"" +
                       kExited + "$?]\"' \\; set-option -t " + session + " remain-on-exit on"));
        INFO(r.out);
        REQUIRE(r.status == 0);
    }
    void keys(const std::string& session, const std::string& keys) {
        const auto r = shell(tmux("send-keys -t " + session + " " + keys));
        INFO(r.out);
        REQUIRE(r.status == 0);
    }
    // The screen and its scrollback.
    std::string screen(const std::string& session) {
        return shell(tmux("capture-pane -p -J -S - -t " + session)).out;
    }
    // Polls the screen until done(screen) holds; fails with the screen as soon as the command
    // has exited without it. No deadline of its own: how long a loaded machine takes is not
    // the test's business (ctest's TIMEOUT ends a real hang).
    std::string wait(const std::string& session,
                     const std::function<bool(const std::string&)>& done, const std::string& what) {
        for (;;) {
            const std::string s = screen(session);
            if (done(s)) return s;
            if (s.find(kExited) != std::string::npos) {  // it will not come now
                FAIL("waited in vain for " << what << "; the command exited. The screen:\n" << s);
                return s;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    std::string wait_for(const std::string& session, const std::string& text,
                         std::size_t times = 1) {
        return wait(
            session, [&](const std::string& s) { return count(s, text) >= times; },
            "'" + text + "' (" + std::to_string(times) + "x)");
    }
    // The command's exit status, once it has exited: "0" for success.
    std::string exit_status(const std::string& session) {
        const std::string s = wait(
            session, [](const std::string& s) { return s.find(kExited) != std::string::npos; },
            "the command to exit");
        const auto at = s.find(kExited) + kExited.size();
        return s.substr(at, s.find(']', at) - at);
    }

  private:
    std::string tmux(const std::string& args) const {
        // A server of our own, no user configuration, a terminal type tmux knows.
        return "env -u TMUX TERM=xterm tmux -L " + socket_ + " -f /dev/null " + args;
    }
    std::string socket_;
};

bool have_tmux() {
    return shell("tmux -V").status == 0;
}

}  // namespace

TEST_CASE("the stepper in a terminal: forward, back, an arrow key, print, end, quit") {
    {
        INFO("tmux is needed for this test: scripts/install-deps.sh installs it");
        REQUIRE(have_tmux());
    }
    Tmux tmux;
    tmux.start("step", std::string(TAPEGRAD_CLI_BIN) + " step quadratic");
    check_contains(tmux.wait_for("step", "step 1/9 > "),
                   {"tapegrad step quadratic", "forward 1/4 · node 0: sq = square(w)",
                    "result  sq = 100  ([] float64)"});

    // What each key press brings to the screen: the text waited for (and how many times it
    // must be there by then) and what else must show.
    struct Press {
        std::string keys, until;
        std::size_t times;
        std::vector<std::string> shows;
    };
    const std::vector<Press> presses = {
        {"n Enter",
         "step 2/9 > ",
         1,
         {"forward 2/4 · node 1: lin = mul_scalar(w, s = -6)", "lin = -60"}},
        {"p Enter", "step 1/9 > ", 2, {}},  // back at the first node
        {"'print w' Enter",
         "backward has not started",
         1,
         {"w = leaf, requires grad  ([] float64)", "value     10"}},
        {"e Enter", "step 9/9 > ", 1, {"end: backward is done", "w     []     10     14"}},
        // ← at the line prompt arrives as ESC [ D: one node back, the last backward step.
        {"Left Enter",
         "step 8/9 > ",
         1,
         {"backward 4/4 · node 0: sq = square(w)",
          "→ w (x)  20, added to the -6 it already had: 14"}},
        {"'print w' Enter", "14  (final)", 1, {}},
    };
    for (const auto& press : presses) {
        INFO("after " << press.keys);
        tmux.keys("step", press.keys);
        check_contains(tmux.wait_for("step", press.until, press.times), press.shows);
    }

    tmux.keys("step", "q Enter");
    CHECK(tmux.exit_status("step") == "0");
}

TEST_CASE("the stepper in a terminal ends cleanly at the end of input (Ctrl-D)") {
    REQUIRE(have_tmux());
    Tmux tmux;
    tmux.start("eof", std::string(TAPEGRAD_CLI_BIN) + " step neuron");
    tmux.wait_for("eof", "step 1/");
    tmux.keys("eof", "C-d");
    CHECK(tmux.exit_status("eof") == "0");
}
