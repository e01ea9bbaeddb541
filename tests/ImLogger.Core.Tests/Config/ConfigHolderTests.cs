using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary>What a live reload may change, and what needs a restart.</summary>
public class ConfigHolderTests : TempDirFixture
{
    private ImLoggerConfig Load(string users = "<user jid=\"alice@example.test\" />", string port = "5347", string endpoints = "")
    {
        var path = Path.Combine(Dir, $"{Guid.NewGuid():N}.xml");
        File.WriteAllText(path, $"""
            <imlogger>
              <component jid="archive.example.test" port="{port}" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="local" seats="5">{users}<notifications>Custom.</notifications></organization>
              <endpoints><directory name="local" path="archive" />{endpoints}</endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, _ => "s3cret");
    }

    [Test]
    public void UsersSeatsAndNoticesChangeLive()
    {
        var running = Load();
        var next = Load("<user jid=\"alice@example.test\" /><user jid=\"bob@example.test\" />");
        Assert.That(ConfigHolder.NeedsRestart(running, next), Is.Null);
        var holder = new ConfigHolder(running);
        holder.Replace(next);
        Assert.That(holder.Current.LoggedUsers.Keys, Does.Contain("bob@example.test"));
    }

    [Test]
    public void ConnectionAndEndpointChangesNeedARestart()
    {
        var running = Load();
        Assert.That(ConfigHolder.NeedsRestart(running, Load(port: "5348")), Does.StartWith("<component> changed"));
        Assert.That(ConfigHolder.NeedsRestart(running, Load(endpoints: "<directory name=\"more\" path=\"more\" />")), Does.StartWith("endpoint 'more' (added) (the dispatcher's endpoints are fixed at start) changed"));
    }
}
