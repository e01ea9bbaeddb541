using System.Reflection;
using ImLogger.Config;
using ImLogger.Sinks;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Config;

/// <summary>Endpoint settings compared by value, and what a reload does with each change: applies it (the endpoint's sink
/// is rebuilt) or refuses it naming the endpoint and the setting.</summary>
public class EndpointChangesTests : TempDirFixture
{
    private const string Mail = """<secure-smtp name="mail" host="smtp.example.com" port="587" username="u" password-file="pw" from="a@example.com" to="b@example.com, c@example.com" subject="IM {conversation}" timeout="30s" />""";

    private ImLoggerConfig Load(string endpoints, string defaultEndpoint = "mail", string password = "first password")
    {
        File.WriteAllText(Path.Combine(Dir, "pw"), password);
        File.WriteAllText(Path.Combine(Dir, "ca.pem"), "not read while loading");
        var path = Path.Combine(Dir, $"{Guid.NewGuid():N}.xml");
        File.WriteAllText(path, $"""
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="{defaultEndpoint}" seats="5"><user jid="alice@example.test" /></organization>
              <endpoints>{endpoints}</endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, _ => "s3cret");
    }

    [Test]
    public void TwoLoadsOfTheSameFileAreEqual_EveryType()
    {
        const string all = Mail +
            """<directory name="dir" path="archive" max-attempts="3" />""" +
            """<global-relay name="gr" host="gr.example.com" username="u" password-file="pw" from="a@example.com" to="j@gr.example.com" msg-type="Chat" />""" +
            """<drc-cm name="drc" host="drc.example.com" from="a@example.com" to="j@drc.example.com" ca-file="ca.pem" deadline="5m" />""";
        var a = Load(all);
        var b = Load(all);
        Assert.Multiple(() =>
        {
            Assert.That(a.Endpoints, Is.EqualTo(b.Endpoints), "separate lists and secrets, equal values");
            Assert.That(a.Endpoints.Select(e => e.GetHashCode()), Is.EqualTo(b.Endpoints.Select(e => e.GetHashCode())));
            Assert.That(EndpointChanges.Between(a.Endpoints, b.Endpoints), Is.Empty);
            Assert.That(ConfigHolder.NeedsRestart(a, b), Is.Null);
        });
    }

    [TestCase("subject=\"IM {conversation}\"", "subject=\"Chat {participants}\"", "subject")]
    [TestCase("timeout=\"30s\"", "timeout=\"5s\"", "timeout")]
    [TestCase("timeout=\"30s\"", "timeout=\"30s\" deadline=\"2m\"", "deadline")]
    [TestCase("to=\"b@example.com, c@example.com\"", "to=\"b@example.com\"", "to")]
    [TestCase("to=\"b@example.com, c@example.com\"", "to=\"c@example.com, b@example.com\"", "to")]
    [TestCase("host=\"smtp.example.com\"", "host=\"smtp2.example.com\"", "host")]
    [TestCase("port=\"587\"", "port=\"2525\"", "port")]
    [TestCase("from=\"a@example.com\"", "from=\"z@example.com\"", "from")]
    [TestCase("username=\"u\"", "username=\"v\"", "username")]
    [TestCase("timeout=\"30s\"", "timeout=\"30s\" ca-file=\"ca.pem\"", "ca-file")]
    [TestCase("timeout=\"30s\"", "timeout=\"30s\" max-message-size=\"1MB\"", "max-message-size")]
    public void EachSettingChangeIsSeen_AndAppliedLive(string before, string after, string setting)
    {
        var running = Load(Mail);
        var next = Load(Mail.Replace(before, after, StringComparison.Ordinal));
        var change = EndpointChanges.Between(running.Endpoints, next.Endpoints).Single();
        Assert.Multiple(() =>
        {
            Assert.That(running.Endpoints[0], Is.Not.EqualTo(next.Endpoints[0]));
            Assert.That(change.Name, Is.EqualTo("mail"));
            Assert.That(change.Settings, Is.EqualTo(new[] { setting }));
            Assert.That(change.Restart, Is.Null);
            Assert.That(ConfigHolder.NeedsRestart(running, next), Is.Null, "an existing endpoint's settings change live");
        });
    }

    [Test]
    public void ChangedPasswordFileContent_IsAChange_NamedWithoutItsText()
    {
        var running = Load(Mail);
        var next = Load(Mail, password: "second password");
        var change = EndpointChanges.Between(running.Endpoints, next.Endpoints).Single();
        Assert.Multiple(() =>
        {
            Assert.That(change.Settings, Is.EqualTo(new[] { "password" }));
            Assert.That(change.ToString(), Does.Not.Contain("first password").And.Not.Contain("second password"));
            Assert.That(((SmtpEndpointConfig)next.Endpoints[0]).Password!.GetHashCode(),
                Is.EqualTo(((SmtpEndpointConfig)running.Endpoints[0]).Password!.GetHashCode()), "the hash never depends on the secret");
        });
    }

    [Test]
    public void SamePasswordFromAnotherPlace_IsAChange()
    {
        var a = new SecretText("same", "file /a");
        Assert.Multiple(() =>
        {
            Assert.That(a, Is.EqualTo(new SecretText("same", "file /a")));
            Assert.That(a, Is.Not.EqualTo(new SecretText("same", "environment variable A")));
            Assert.That(a, Is.Not.EqualTo(new SecretText("samE", "file /a")));
            Assert.That(a.Equals(null), Is.False);
        });
    }

    [Test]
    public void AddedRemovedRenamedRetypedAndMaxAttempts_AreRefused_NamingEndpointAndSetting()
    {
        var running = Load(Mail + """<directory name="dir" path="archive" />""");
        Assert.Multiple(() =>
        {
            Assert.That(ConfigHolder.NeedsRestart(running, Load(Mail + """<directory name="dir" path="archive" /><directory name="more" path="more" />""")),
                Does.Contain("endpoint 'more' (added)").And.Contain("restart"));
            Assert.That(ConfigHolder.NeedsRestart(running, Load(Mail)), Does.Contain("endpoint 'dir' (removed)"));
            var renamed = ConfigHolder.NeedsRestart(running, Load(Mail + """<directory name="dir2" path="archive" />"""));
            Assert.That(renamed, Does.Contain("endpoint 'dir' (removed)").And.Contain("endpoint 'dir2' (added)"));
            Assert.That(ConfigHolder.NeedsRestart(running, Load(Mail + """<drc-cm name="dir" host="h.example.com" from="a@example.com" to="b@example.com" />""")),
                Does.Contain("endpoint 'dir' (type directory → drc-cm)"));
            Assert.That(ConfigHolder.NeedsRestart(running, Load(Mail.Replace("timeout=\"30s\"", "timeout=\"5s\" max-attempts=\"4\"") + """<directory name="dir" path="archive" />""")),
                Does.Contain("endpoint 'mail' (timeout, max-attempts) (max-attempts is read at start)"));
        });
    }

    /// <summary>Guards the hand-written <see cref="SmtpEndpointConfig.Equals(SmtpEndpointConfig)"/>: every public setting of
    /// every endpoint type, changed alone, makes the configs unequal and is named by its config name.</summary>
    [Test]
    public void EveryPropertyOfEveryType_TakesPartInEquality()
    {
        EndpointConfig[] samples =
        [
            new DirectoryEndpointConfig { Name = "d", Path = "/var/archive" },
            new SecureSmtpEndpointConfig { Name = "s", Host = "h", Port = 587, Tls = SmtpTlsMode.StartTls, From = "a@x.test", To = ["b@x.test"] },
            new GlobalRelayEndpointConfig { Name = "g", Host = "h", Port = 587, Tls = SmtpTlsMode.StartTls, From = "a@x.test", To = ["b@x.test"] },
            new DrcCmEndpointConfig { Name = "c", Host = "h", Port = 587, Tls = SmtpTlsMode.StartTls, From = "a@x.test", To = ["b@x.test"] },
        ];
        // One sample per registered type: a new built-in type without a sample here fails this test, not silently passes.
        Assert.That(samples.Select(s => s.TypeName).Order(StringComparer.Ordinal), Is.EqualTo(ImLogger.Endpoints.EndpointCatalog.BuiltInNames));
        var checkedProperties = 0;
        foreach (var sample in samples)
        {
            var clone = sample.GetType().GetMethod("<Clone>$")!;
            foreach (var p in sample.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var changed = (EndpointConfig)clone.Invoke(sample, null)!;
                Assert.That(changed, Is.EqualTo(sample), $"{sample.GetType().Name} clone");
                p.SetValue(changed, Other(p.PropertyType, p.GetValue(sample)));
                Assert.That(changed, Is.Not.EqualTo(sample), $"{sample.GetType().Name}.{p.Name} is not compared");
                checkedProperties++;
                if (p.Name == nameof(EndpointConfig.Name))
                {
                    // Another name is another endpoint: one removed, one added.
                    Assert.That(EndpointChanges.Between([sample], [changed]).Select(c => c.Settings.Single()), Is.EqualTo(new[] { "removed", "added" }));
                    continue;
                }
                var change = EndpointChanges.Between([sample], [changed]).Single();
                Assert.That(change.Settings, Is.EqualTo(new[] { EndpointChanges.ConfigName(p.Name) }), $"{sample.GetType().Name}.{p.Name}");
            }
        }
        Assert.That(checkedProperties, Is.GreaterThan(40), "the reflection walked the settings");
    }

    private static object? Other(Type type, object? value) => type switch
    {
        _ when type == typeof(string) => (string?)value + "x",
        _ when type == typeof(int) => (int)value! + 1,
        _ when type == typeof(int?) => ((int?)value ?? 0) + 1,
        _ when type == typeof(long) => (long)value! + 1,
        _ when type == typeof(TimeSpan) => (TimeSpan)value! + TimeSpan.FromSeconds(1),
        _ when type == typeof(TimeSpan?) => ((TimeSpan?)value ?? TimeSpan.Zero) + TimeSpan.FromSeconds(1),
        _ when type == typeof(SmtpTlsMode) => (SmtpTlsMode)value! == SmtpTlsMode.Implicit ? SmtpTlsMode.StartTls : SmtpTlsMode.Implicit,
        _ when type == typeof(IReadOnlyList<string>) => ((IReadOnlyList<string>)value!).Append("z@x.test").ToList(),
        _ when type == typeof(SecretText) => new SecretText("changed", "file /changed"),
        _ => throw new AssertionException($"no other value for a {type.Name} setting: teach this test the new type"),
    };

    [Test]
    public void LiveSinks_RebuildOnlyTheChangedEndpoint_WithTheRealFactory_AllOrNothing()
    {
        var both = Mail + """<directory name="dir" path="archive" />""";
        var running = Load(both);
        var live = new LiveSinks(running.Endpoints, e => EndpointSinks.Create(e, NullLoggerFactory.Instance, "imlogger@archive.example.test"));
        var mailBefore = live.Sinks[0].Current;
        var dirBefore = live.Sinks[1].Current;
        var next = Load(both.Replace("subject=\"IM {conversation}\" timeout=\"30s\"", "subject=\"New {type}\" timeout=\"7s\" deadline=\"1m\"", StringComparison.Ordinal));

        var applied = live.Apply(next.Endpoints);

        var built = (SecureSmtpSink)live.Sinks[0].Current;
        Assert.Multiple(() =>
        {
            Assert.That(applied.Select(c => c.ToString()), Is.EqualTo(new[] { "endpoint 'mail' (subject, timeout, deadline)" }));
            Assert.That(built, Is.Not.SameAs(mailBefore));
            Assert.That(((SecureSmtpEndpointConfig)built.Config).SubjectTemplate, Is.EqualTo("New {type}"));
            Assert.That(built.Config.Timeout, Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(built.Config.Deadline, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(live.Sinks[1].Current, Is.SameAs(dirBefore), "an unchanged endpoint keeps its sink");
            Assert.That(live.Apply(next.Endpoints), Is.Empty, "applying the same settings again changes nothing");
        });

        // A change that needs a restart, beside a live one: nothing is swapped.
        var refused = Load(Mail.Replace("timeout=\"30s\"", "timeout=\"9s\"") + """<directory name="dir" path="archive" max-attempts="2" />""");
        var error = Assert.Throws<InvalidOperationException>(() => live.Apply(refused.Endpoints))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("endpoint 'dir' (max-attempts)").And.Contain("restart"));
            Assert.That(live.Sinks[0].Current, Is.SameAs(built), "all or nothing");
            Assert.That(live.ConfigOf("mail"), Is.EqualTo(next.Endpoints[0]));
        });
    }

    [Test]
    public void LiveSinks_ASinkThatCannotBeBuilt_ChangesNothing()
    {
        var running = Load(Mail + """<directory name="dir" path="archive" />""");
        var fail = false;
        var live = new LiveSinks(running.Endpoints, e => fail && e.Name == "dir"
            ? throw new ArgumentException("cannot build dir")
            : EndpointSinks.Create(e, NullLoggerFactory.Instance, "imlogger@archive.example.test"));
        var mailBefore = live.Sinks[0].Current;
        fail = true;
        var next = Load(Mail.Replace("timeout=\"30s\"", "timeout=\"9s\"") + """<directory name="dir" path="other" />""");
        Assert.Throws<ArgumentException>(() => live.Apply(next.Endpoints));
        Assert.Multiple(() =>
        {
            Assert.That(live.Sinks[0].Current, Is.SameAs(mailBefore), "mail's new sink was built but not put in force");
            Assert.That(live.ConfigOf("mail"), Is.EqualTo(running.Endpoints[0]));
        });
    }
}
