using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace ImLogger.Integration.Tests.Support;

/// <summary>A child process whose output lines are collected, waited on, and shown when a test fails.</summary>
internal sealed partial class ProcessRunner : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _newLine = new(0);
    private readonly string _name;
    private int _disposed;

    private ProcessRunner(string name, Process process)
    {
        _name = name;
        _process = process;
    }

    public static ProcessRunner Start(string name, string fileName, IEnumerable<string> args, IDictionary<string, string>? env = null, string? workDir = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Paths.TestDir,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var runner = new ProcessRunner(name, process);
        process.OutputDataReceived += (_, e) => runner.Add(e.Data);
        process.ErrorDataReceived += (_, e) => runner.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return runner;
    }

    private void Add(string? line)
    {
        if (line == null) return;
        _lines.Enqueue(line);
        _newLine.Release();
        TestContext.Progress.WriteLine($"[{_name}] {line}");
    }

    public IReadOnlyList<string> Lines => _lines.ToArray();

    /// <summary>The prefix of its output lines (imlogger-1, prosody, ...).</summary>
    public string Name => _name;

    public string Output => string.Join('\n', _lines);

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    /// <summary>Waits for an output line that matches, failing with the whole output after the timeout.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = _lines.FirstOrDefault(match);
            if (found != null) return found;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || (_process.HasExited && !_lines.Any(match) && _newLine.CurrentCount == 0 && ExitedLongAgo()))
                throw new TimeoutException($"{_name}: no line showing {what} within {timeout.TotalSeconds:0}s (exited: {_process.HasExited}). Output:\n{Output}");
            await _newLine.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    private bool ExitedLongAgo() => _process.HasExited && DateTime.Now - _process.ExitTime > TimeSpan.FromSeconds(1);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_name} did not exit within {timeout.TotalSeconds:0}s. Output:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>kill -9: the process gets no chance to flush anything.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGSTOP: the process stops reading and answering, its connections stay open (a hung process, a host
    /// starved of CPU); <see cref="Resume"/> lets it go on with what waited in its sockets.</summary>
    public void Suspend()
    {
        if (!_process.HasExited) _ = Kill(_process.Id, 19);
    }

    /// <summary>SIGCONT, after <see cref="Suspend"/>.</summary>
    public void Resume()
    {
        if (!_process.HasExited) _ = Kill(_process.Id, 18);
    }

    /// <summary>SIGTERM, what systemd and Ctrl-C send: the graceful stop.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) _ = Kill(_process.Id, 15);
        return await WaitForExitAsync(timeout);
    }

    /// <summary>SIGTERM, then kill -9 of its tree after 10 s; once: a test's <c>await using</c> and the deployment that owns
    /// the process (<see cref="TapDeployment.Own"/>) may both dispose it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, 15);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await _process.WaitForExitAsync(cts.Token); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    public override string ToString() => new StringBuilder(_name).Append(": ").Append(Output).ToString();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
