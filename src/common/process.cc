#include "common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/error.h"

extern char** environ;

namespace walferry {

namespace {
std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// Stops the program's process group once `stop` reads true: SIGINT first, SIGKILL after kStopGraceSeconds.
class GroupStopper {
 public:
  GroupStopper(pid_t group, const std::atomic<bool>* stop) : group_(group), stop_(stop) {}
  // Called about every 100 ms while the program runs.
  void Check() {
    if (stop_ == nullptr || !stop_->load()) return;
    auto now = std::chrono::steady_clock::now();
    if (!interrupted_) {
      interrupted_ = true;
      since_ = now;
      kill(-group_, SIGINT);
    } else if (!killed_ && now - since_ >= std::chrono::seconds(kStopGraceSeconds)) {
      killed_ = true;
      kill(-group_, SIGKILL);
    }
  }
  bool stopped() const { return interrupted_; }

 private:
  pid_t group_;
  const std::atomic<bool>* stop_;
  bool interrupted_ = false;
  bool killed_ = false;
  std::chrono::steady_clock::time_point since_;
};

// Writes input to fd_in and reads fd_out until EOF, without deadlocking on either pipe.
std::string Pump(int fd_in, int fd_out, const std::string& input, GroupStopper& stopper) {
  std::string output;
  size_t written = 0;
  if (input.empty() && fd_in >= 0) {
    close(fd_in);
    fd_in = -1;
  }
  char buf[65536];
  while (true) {
    stopper.Check();
    pollfd fds[2];
    int n = 0;
    fds[n++] = {fd_out, POLLIN, 0};
    if (fd_in >= 0) fds[n++] = {fd_in, POLLOUT, 0};
    int ready = poll(fds, static_cast<nfds_t>(n), 100);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) continue;
    if (fd_in >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(fd_in, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == input.size()) {
        close(fd_in);
        fd_in = -1;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(fd_out, buf, sizeof buf);
      if (r > 0) output.append(buf, static_cast<size_t>(r));
      else if (r == 0 || errno != EINTR) break;
    }
  }
  if (fd_in >= 0) close(fd_in);
  return output;
}

// The supervisor's PR_SET_PDEATHSIG handler: walferry has ended, so its group goes too (the supervisor with it).
void KillOwnGroup(int) { kill(0, SIGKILL); }

// Runs in the forked child (only async-signal-safe calls: walferry has threads). Leads a new process group, runs
// the program in it, and ends with the program's status (128+signal when it was killed by one).
[[noreturn]] void Supervise(pid_t walferry, char** argv, char** envp) {
  // Never execs, so close-on-exec closes nothing here: without this, another thread's pipes and walferry's
  // connections would stay open in the supervisor (and another RunProcess would wait for its end of file).
  close_range(3, ~0U, 0);
  setpgid(0, 0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, nullptr);   // walferry stops the group with SIGINT: meant for the program
  sigaction(SIGTERM, &ignore, nullptr);
  struct sigaction death {};
  death.sa_handler = KillOwnGroup;
  sigaction(SIGUSR1, &death, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGUSR1);
  if (getppid() != walferry) KillOwnGroup(0);  // walferry ended before the death signal was set
  const pid_t supervisor = getpid();
  pid_t program = fork();
  if (program == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaction(sig, &dfl, nullptr);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the supervisor killed on its own: the program goes too
    if (getppid() != supervisor) _exit(128 + SIGKILL);
    execvpe(argv[0], argv, envp);
    const char* prefix = "cannot run ";
    const char* why = std::strerror(errno);
    ssize_t ignored = write(2, prefix, std::strlen(prefix));
    ignored = write(2, argv[0], std::strlen(argv[0]));
    ignored = write(2, ": ", 2);
    ignored = write(2, why, std::strlen(why));
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(127);
  }
  // Only the program writes the output: the pipe ends when it (and what it started) closes it.
  close(0);
  close(1);
  close(2);
  if (program < 0) _exit(127);
  int status = 0;
  while (waitpid(program, &status, 0) < 0) {
    if (errno != EINTR) _exit(127);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
}  // namespace

bool RunningAsRoot() { return geteuid() == 0; }

ProcessResult RunProcess(const std::vector<std::string>& argv_in, const ProcessOptions& options) {
  std::vector<std::string> argv = argv_in;
  if (!options.as_user.empty() && RunningAsRoot()) {
    argv.insert(argv.begin(), {"runuser", "-u", options.as_user, "--"});
  }
  // The child's environment is built here, before fork (only async-signal-safe calls may follow fork in a threaded
  // process), and passed to execvpe: values such as PGPASSWORD never appear on a command line that ps can show.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool overridden = false;
    for (const auto& extra : options.env) {
      auto eq = extra.find('=');
      if (entry.substr(0, entry.find('=') + 1) == std::string_view(extra).substr(0, eq + 1)) overridden = true;
    }
    if (!overridden) env_strings.emplace_back(entry);
  }
  env_strings.insert(env_strings.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw Error(ErrorKind::kIo, std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t walferry = getpid();
  pid_t pid = fork();
  if (pid < 0) throw Error(ErrorKind::kIo, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    Supervise(walferry, cargv.data(), envp.data());
  }
  setpgid(pid, pid);  // also here, so that a stop before the child ran reaches its group
  close(in_pipe[0]);
  close(out_pipe[1]);
  GroupStopper stopper(pid, options.stop);
  ProcessResult result;
  result.output = Pump(in_pipe[1], out_pipe[0], options.input, stopper);
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (stopper.stopped()) {
    throw Error(ErrorKind::kCancelled, "interrupted while " + std::filesystem::path(argv_in[0]).filename().string() +
                                           " ran (it was stopped)");
  }
  if (result.exit_code == 127 && result.output.starts_with("cannot run ")) {
    throw Error(ErrorKind::kIo, result.output.substr(0, result.output.size() - 1));
  }
  return result;
}

std::string RunProcessOrThrow(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ProcessResult r = RunProcess(argv, options);
  if (r.exit_code != 0) {
    throw Error(ErrorKind::kIo, JoinArgv(argv) + " exited with code " + std::to_string(r.exit_code))
        .WithDetail(r.output);
  }
  return r.output;
}

}  // namespace walferry
