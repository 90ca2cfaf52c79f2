#include "common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

// Writes input to fd_in and reads fd_out until EOF, without deadlocking on either pipe.
std::string Pump(int fd_in, int fd_out, const std::string& input) {
  std::string output;
  size_t written = 0;
  if (input.empty() && fd_in >= 0) {
    close(fd_in);
    fd_in = -1;
  }
  char buf[65536];
  while (true) {
    pollfd fds[2];
    int n = 0;
    fds[n++] = {fd_out, POLLIN, 0};
    if (fd_in >= 0) fds[n++] = {fd_in, POLLOUT, 0};
    if (poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
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
  pid_t pid = fork();
  if (pid < 0) throw Error(ErrorKind::kIo, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    // A new process group, so a terminal's Ctrl-C reaches walferry, which decides how to stop children.
    setpgid(0, 0);
    execvpe(cargv[0], cargv.data(), envp.data());
    std::string msg = std::string("cannot run ") + cargv[0] + ": " + std::strerror(errno) + "\n";
    ssize_t ignored = write(2, msg.data(), msg.size());
    (void)ignored;
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  ProcessResult result;
  result.output = Pump(in_pipe[1], out_pipe[0], options.input);
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
