using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// One shared test vector for the routing hash of both servers' modules (docs/scale-out.md): the Prosody module's
/// route.hash (Lua, run by lua5.4 from the shipped file) and mod_imlogger_lanes:hash/1 (Erlang, built by the shipped
/// build.sh) give, for the same keys, the hash of <see cref="Bucket"/>, which the published FNV-1a values check. Both
/// servers therefore split the same conversations the same way (a Prosody and an ejabberd of one organization, or a
/// move from one to the other, keep each conversation on its instance).
/// </summary>
public partial class ScaleOutTests
{
    /// <summary>Keys as the modules build them (pairs, rooms, the user with itself) and what a key may hold: non-ASCII
    /// (UTF-8 bytes, several per character), a byte over 0x7F in each position of the XOR, a long key.</summary>
    private static readonly string[] VectorKeys =
    [
        "a", "foobar", // the published FNV-1a 32-bit values below
        "so01@example.test pe01@example.test", "pe02@example.test so02@example.test", "room1@conference.example.test",
        "alice@example.test alice@example.test", "björn@example.test zoë@example.test", "用户@例子.test 玩家@例子.test",
        "room😀@conference.example.test", new string('x', 3000) + "@example.test",
    ];

    internal static uint Hash(string key)
    {
        var h = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(key)) h = (h ^ b) * 16777619u;
        return h;
    }

    [Test]
    public void TheReferenceHashIsFnv1a() =>
        Assert.That((Hash("a"), Hash("foobar"), Hash("")), Is.EqualTo((0xe40c292cu, 0xbf9cf968u, 2166136261u)),
            "the published FNV-1a (32 bits) values");

    [Test, CancelAfter(120_000)]
    public async Task ProsodyAndEjabberdModulesHashAndBucketEveryKeyAlike()
    {
        var dir = Paths.TempDir("imlogger-hash-");
        try
        {
            var keys = Path.Combine(dir, "keys.txt");
            await File.WriteAllTextAsync(keys, string.Join('\n', VectorKeys) + "\n", new UTF8Encoding(false));
            var expected = VectorKeys.Select(k => $"{Hash(k)} {Bucket(k, 2)} {Bucket(k, 3)} {Bucket(k, 64)}").ToArray();

            // Lua: the module's own lines, from its FNV-1a XOR helper to the end of route.hash, run outside Prosody.
            var module = await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "integrations", "prosody", "mod_imlogger_inline.lua"));
            var hashCode = LuaHash().Match(module);
            Assert.That(hashCode.Success, Is.True, "route.hash not found in mod_imlogger_inline.lua: update this test with the module");
            var lua = Path.Combine(dir, "hash.lua");
            await File.WriteAllTextAsync(lua, $$"""
                local route = {};
                {{hashCode.Value}}
                for key in io.lines(arg[1]) do
                	local h = route.hash(key);
                	print(string.format("%d %d %d %d", h, math.floor(h * 2 / 4294967296), math.floor(h * 3 / 4294967296), math.floor(h * 64 / 4294967296)));
                end
                """);
            await using (var run = ProcessRunner.Start("lua", "/usr/bin/lua5.4", [lua, keys]))
            {
                Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, run.Output);
                Assert.That(run.Lines.Where(l => l.Length > 0), Is.EqualTo(expected), "Prosody's module (Lua) and the reference");
            }

            // Erlang: the module built as an operator builds it, then called in a plain node.
            var ebin = Path.Combine(dir, "modules");
            await using (var build = ProcessRunner.Start("build.sh", "/bin/sh", [Path.Combine(Paths.RepoRoot, "integrations", "ejabberd", "build.sh"), ebin]))
                Assert.That(await build.WaitForExitAsync(TimeSpan.FromSeconds(90)), Is.Zero, build.Output);
            var eval = string.Create(CultureInfo.InvariantCulture, $$"""
                {ok, B} = file:read_file("{{keys}}"),
                [io:format("~B ~B ~B ~B~n", [mod_imlogger_lanes:hash(K), mod_imlogger_lanes:bucket(K, 2), mod_imlogger_lanes:bucket(K, 3), mod_imlogger_lanes:bucket(K, 64)])
                 || K <- binary:split(B, <<"\n">>, [global, trim_all])],
                halt().
                """).Replace('\n', ' ');
            await using (var erl = ProcessRunner.Start("erl", "/usr/bin/erl",
                             ["-noshell", "-pa", Path.Combine(ebin, "mod_imlogger_inline", "ebin"), "-eval", eval]))
            {
                Assert.That(await erl.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, erl.Output);
                Assert.That(erl.Lines.Where(l => l.Length > 0), Is.EqualTo(expected), "ejabberd's module (Erlang) and the reference");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"\tlocal bxor8 = .*?\n\t\treturn h;\n\tend", RegexOptions.Singleline)]
    private static partial Regex LuaHash();
}
