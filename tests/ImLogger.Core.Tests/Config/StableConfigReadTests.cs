using ImLogger.Config;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Config;

/// <summary>
/// Reading the config only once nobody is writing it: real files in a temp folder, a fake clock for the settle
/// periods, and a writer that strikes between the reader's looks (or during its load).
/// </summary>
public class StableConfigReadTests : TempDirFixture
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    /// <summary>Counts the waits started, so that a test acts exactly between two of the reader's looks.</summary>
    private sealed class CountingTime() : FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero))
    {
        private int _timers;
        public int Timers => Volatile.Read(ref _timers);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _timers);
            return base.CreateTimer(callback, state, dueTime, period);
        }

        /// <summary>Until the reader has started its n-th settle wait (a bound, not a measurement: a stuck reader fails).</summary>
        public async Task WaitingAsync(int n)
        {
            for (var i = 0; Timers < n; i++)
            {
                if (i > 10_000) Assert.Fail($"the reader never started settle wait {n} (started {Timers})");
                await Task.Delay(1);
            }
        }
    }

    private CountingTime _time = null!;
    private int _loads;
    private Action? _duringLoad;

    [SetUp]
    public void Fresh()
    {
        _time = new CountingTime();
        _loads = 0;
        _duringLoad = null;
    }

    private string Csv => Path.Combine(Dir, "users.csv");

    private string Config(string organizationBody = "<csv path=\"users.csv\" />")
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="local" seats="10">
                {organizationBody}
              </organization>
              <endpoints><directory name="local" path="archive" /></endpoints>
            </imlogger>
            """);
        return path;
    }

    private ImLoggerConfig Load(string path)
    {
        _loads++;
        var config = ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);
        _duringLoad?.Invoke();
        _duringLoad = null;
        return config;
    }

    private Task<StableRead> Start(string config, int tries = 5) =>
        new StableConfigRead(Load, _time).LoadAsync(config, [config, Csv], Settle, tries, CancellationToken.None);

    private static string[] Users(StableRead read) => read.Config!.LoggedUsers.Keys.Order(StringComparer.Ordinal).ToArray();

    [Test]
    public async Task StableFilesAreReadOnceAfterOneSettlePeriod()
    {
        File.WriteAllText(Csv, "jid\nalice@example.test\nbob@example.test\n");
        var read = Start(Config());
        await _time.WaitingAsync(1);
        Assert.That(read.IsCompleted, Is.False, "nothing is read before the settle period");
        _time.Advance(Settle);
        var result = await read;
        Assert.That(Users(result), Is.EqualTo(new[] { "alice@example.test", "bob@example.test" }));
        Assert.That(_loads, Is.EqualTo(1));
        Assert.That(result.Files.Files[Csv].Read, Is.True);
    }

    [Test]
    public async Task AListTruncatedAndRewrittenDuringTheSettlePeriodIsReadOnlyOnceItStaysUnchanged()
    {
        File.WriteAllText(Csv, "jid\nalice@example.test\nbob@example.test\n");
        var read = Start(Config());
        await _time.WaitingAsync(1);
        File.WriteAllText(Csv, "jid\n");                               // export > users.csv: truncated, header written
        _time.Advance(Settle);
        await _time.WaitingAsync(2);
        File.WriteAllText(Csv, "jid\nalice@example.test\nbob@example.test\ncarol@example.test\n");
        _time.Advance(Settle);
        await _time.WaitingAsync(3);
        Assert.That(_loads, Is.Zero, "never read while it moved");
        _time.Advance(Settle);
        var result = await read;
        Assert.That(Users(result), Is.EqualTo(new[] { "alice@example.test", "bob@example.test", "carol@example.test" }));
        Assert.That(_loads, Is.EqualTo(1));
    }

    [Test]
    public async Task AListThatChangesWhileBeingReadIsReadAgain()
    {
        File.WriteAllText(Csv, "jid\nalice@example.test\n");
        _duringLoad = () => File.AppendAllText(Csv, "bob@example.test\n");
        var read = Start(Config());
        await _time.WaitingAsync(1);
        _time.Advance(Settle);
        await _time.WaitingAsync(2);
        Assert.That(read.IsCompleted, Is.False, "the first load saw a file that moved under it: discarded");
        _time.Advance(Settle);
        var result = await read;
        Assert.That(Users(result), Is.EqualTo(new[] { "alice@example.test", "bob@example.test" }));
        Assert.That(_loads, Is.EqualTo(2));
    }

    [Test]
    public async Task AFileThatNeverStopsChangingIsNotReadAndIsNamed()
    {
        File.WriteAllText(Csv, "jid\nalice@example.test\n");
        var read = Start(Config(), tries: 3);
        for (var i = 1; i <= 3; i++)
        {
            await _time.WaitingAsync(i);
            File.AppendAllText(Csv, $"user{i}@example.test\n");
            _time.Advance(Settle);
        }
        var result = await read;
        Assert.Multiple(() =>
        {
            Assert.That(result.Config, Is.Null);
            Assert.That(result.Error, Is.Null);
            Assert.That(result.Unsettled, Is.EqualTo(new[] { Csv }));
            Assert.That(_loads, Is.Zero);
        });
    }

    [Test]
    public async Task AListTheNewConfigNamesForTheFirstTimeGetsItsOwnSettlePeriod()
    {
        File.WriteAllText(Csv, "jid\nbob@example.test\n");
        var config = Config("<user jid=\"alice@example.test\" />");
        var read = new StableConfigRead(Load, _time).LoadAsync(config, [config], Settle, 5, CancellationToken.None);
        await _time.WaitingAsync(1);
        Config("<user jid=\"alice@example.test\" /><csv path=\"users.csv\" />");
        _time.Advance(Settle); // the config moved: another period
        await _time.WaitingAsync(2);
        _time.Advance(Settle); // stable: loaded, and it names users.csv, unseen so far: another period
        await _time.WaitingAsync(3);
        Assert.That(_loads, Is.EqualTo(1));
        _time.Advance(Settle);
        var result = await read;
        Assert.That(Users(result), Is.EqualTo(new[] { "alice@example.test", "bob@example.test" }));
        Assert.That(_loads, Is.EqualTo(2));
    }

    [TestCase("", "header")]
    [TestCase("jid,name\nalice@exam", "not in the organization")]
    public async Task AStableBrokenListIsTheConfigsErrorNamingTheFile(string text, string problem)
    {
        File.WriteAllText(Csv, text);
        var read = Start(Config());
        await _time.WaitingAsync(1);
        _time.Advance(Settle);
        var result = await read;
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Error!.Message, Does.Contain("users.csv").And.Contain(problem));
    }

    [Test]
    public async Task AConfigTruncatedMidElementIsAnErrorNotAnEmptyConfig()
    {
        File.WriteAllText(Csv, "jid\nalice@example.test\n");
        var config = Config();
        var text = File.ReadAllText(config);
        File.WriteAllText(config, text[..text.IndexOf("<organization", StringComparison.Ordinal)] + "<organization domain=\"exa");
        var read = Start(config);
        await _time.WaitingAsync(1);
        _time.Advance(Settle);
        var result = await read;
        Assert.That(result.Error!.Message, Does.Contain("not well-formed"));
    }

    [Test]
    public async Task AListLinkedToADeviceIsRefusedWithoutReadingItWhole()
    {
        File.WriteAllText(Csv, "jid\nalice@example.test\n");
        var config = Config();
        File.Delete(Csv);
        File.CreateSymbolicLink(Csv, "/dev/zero");
        var read = Start(config);
        await _time.WaitingAsync(1);
        _time.Advance(Settle);
        var result = await read;
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Error!.Message, Does.Contain("too large").And.Contain("device"));
        Assert.That(_loads, Is.Zero, "the loader never opens it");
    }
}
