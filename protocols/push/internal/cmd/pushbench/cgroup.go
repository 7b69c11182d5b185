package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// memoryCgroup is a memory cgroup of its own that authd runs in under
// -memory-limit: the way a container or a systemd MemoryMax= holds a
// server to a budget. The kernel charges it with everything authd costs
// the machine (its heap and stacks, the pages of its store file it keeps
// in the page cache, its sockets' buffers) and, at the limit, takes back
// page cache first and kills the process only when what cannot be taken
// back (the anonymous memory) does not fit. So "authd serves n pending
// pushes under a limit of L MB without being killed" is the memory figure
// an operator can rely on, where VmRSS also counts clean store pages the
// kernel would drop at no cost.
type memoryCgroup struct {
	dir string
	v2  bool
}

// newMemoryCgroup makes a child of this process's memory cgroup limited
// to limitMB (cgroup v1 memory.limit_in_bytes, or v2 memory.max, which
// needs the memory controller enabled for the children of ours).
func newMemoryCgroup(limitMB int) (*memoryCgroup, error) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	var cg *memoryCgroup
	for line := range strings.Lines(string(own)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			cg = &memoryCgroup{dir: filepath.Join("/sys/fs/cgroup/memory", parts[2])}
		case parts[0] == "0" && parts[1] == "" && cg == nil:
			cg = &memoryCgroup{dir: filepath.Join("/sys/fs/cgroup", parts[2]), v2: true}
		}
	}
	if cg == nil {
		return nil, errors.New("no memory cgroup in /proc/self/cgroup")
	}
	cg.dir = filepath.Join(cg.dir, fmt.Sprintf("pushbench-%d", os.Getpid()))
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		return nil, fmt.Errorf("making a memory cgroup (run as root): %w", err)
	}
	limit := strconv.Itoa(limitMB << 20)
	file := "memory.limit_in_bytes"
	if cg.v2 {
		file = "memory.max"
	}
	if err := os.WriteFile(filepath.Join(cg.dir, file), []byte(limit), 0o644); err != nil {
		_ = os.Remove(cg.dir)
		return nil, fmt.Errorf("setting %s (cgroup v2 needs +memory in the parent's cgroup.subtree_control): %w", file, err)
	}
	return cg, nil
}

// command is exec.Command(bin, args...) started inside the cgroup: a
// shell joins it and execs bin, so authd is charged from its first page
// and keeps the shell's pid.
func (cg *memoryCgroup) command(bin string, args ...string) *exec.Cmd {
	return exec.Command("/bin/sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(cg.dir, "cgroup.procs"), bin}, args...)...)
}

// report is what the kernel charged authd with and how it held the limit.
func (cg *memoryCgroup) report() (string, int, error) {
	stat, err := cg.stat()
	if err != nil {
		return "", 0, err
	}
	mb := func(b int) float64 { return float64(b) / (1 << 20) }
	if cg.v2 {
		peak, _ := readInt(filepath.Join(cg.dir, "memory.peak"))
		events, _ := keyValues(filepath.Join(cg.dir, "memory.events"))
		return fmt.Sprintf("peak %.1f MB; limit reached %d times; now anonymous %.1f MB, page cache %.1f MB (mapped %.1f MB), sockets %.1f MB; %d major page faults; %d OOM kills",
			mb(peak), events["max"], mb(stat["anon"]), mb(stat["file"]), mb(stat["file_mapped"]), mb(stat["sock"]), stat["pgmajfault"], events["oom_kill"]), events["oom_kill"], nil
	}
	peak, _ := readInt(filepath.Join(cg.dir, "memory.max_usage_in_bytes"))
	failcnt, _ := readInt(filepath.Join(cg.dir, "memory.failcnt"))
	kmem, _ := readInt(filepath.Join(cg.dir, "memory.kmem.usage_in_bytes"))
	oom, _ := keyValues(filepath.Join(cg.dir, "memory.oom_control"))
	return fmt.Sprintf("peak %.1f MB; limit reached %d times; now anonymous %.1f MB, page cache %.1f MB (mapped %.1f MB), kernel %.1f MB; %d major page faults; %d OOM kills",
		mb(peak), failcnt, mb(stat["rss"]), mb(stat["cache"]), mb(stat["mapped_file"]), mb(kmem), stat["pgmajfault"], oom["oom_kill"]), oom["oom_kill"], nil
}

// usage is what the cgroup is charged with now, in MB.
func (cg *memoryCgroup) usage() float64 {
	file := "memory.usage_in_bytes"
	if cg.v2 {
		file = "memory.current"
	}
	n, _ := readInt(filepath.Join(cg.dir, file))
	return float64(n) / (1 << 20)
}

func (cg *memoryCgroup) stat() (map[string]int, error) {
	return keyValues(filepath.Join(cg.dir, "memory.stat"))
}

// remove deletes the cgroup once authd has exited.
func (cg *memoryCgroup) remove() { _ = os.Remove(cg.dir) }

// dropCache evicts path's clean pages from the page cache, so the pages
// this process wrote while setting up the store are charged to authd's
// cgroup when authd reads them, not to this process's.
func dropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// keyValues reads a cgroup file of "name value" lines.
func keyValues(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if n, err := strconv.Atoi(strings.TrimSpace(v)); ok && err == nil {
			m[k] = n
		}
	}
	return m, sc.Err()
}
