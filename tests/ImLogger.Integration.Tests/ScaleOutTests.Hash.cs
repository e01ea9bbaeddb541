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
            await AssertLuaPrints(lua, keys, expected, "Prosody's module (Lua) and the reference");

            // Erlang: the module built as an operator builds it, then called in a plain node.
            var ebin = Path.Combine(dir, "modules");
            await BuildEjabberdModules(ebin);
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

    [GeneratedRegex(@"\tfunction route\.bare\(peer\).*?\n\tend", RegexOptions.Singleline)]
    private static partial Regex LuaBare();

    /// <summary>JIDs as a client may write them (capitals, non-ASCII capitals, compatibility characters, characters nodeprep
    /// maps or removes) and the bare JID each server keys a conversation by: nodeprep'd localpart, nameprep'd domain. The
    /// expected forms are RFC 3491's (case folding with ß -> ss, NFKC, U+00AD mapped to nothing), not a server's output.</summary>
    private static readonly (string Raw, string Bare)[] VectorJids =
    [
        ("Bob@Example.TEST/Phone", "bob@example.test"), ("PE01@EXAMPLE.TEST", "pe01@example.test"),
        ("BJÖRN@example.test", "björn@example.test"), ("Zoë@EXAMPLE.test", "zoë@example.test"),
        ("Straße@example.test", "strasse@example.test"), ("ＡＢＣ@example.test", "abc@example.test"),
        ("用户@例子.TEST", "用户@例子.test"), ("ΣΊΣΥΦΟΣ@example.test", "σίσυφοσ@example.test"),
        ("soft\u00ADhyphen@example.test", "softhyphen@example.test"), ("a@ＥＸＡＭＰＬＥ.test", "a@example.test"),
        ("ﬀ@example.test", "ff@example.test"), ("İstanbul@example.test", "i\u0307stanbul@example.test"),
        ("Room1@Conference.Example.Test/Nick", "room1@conference.example.test"), ("so01@example.test", "so01@example.test"),
    ];

    /// <summary>
    /// The key is hashed after each server's own JID normalisation, and both give the same bytes: the Prosody module's
    /// route.bare (run with Prosody's util.jid, the stringprep it runs with) and mod_imlogger_lanes:bare/1 (on what
    /// ejabberd's jid:decode makes of the raw JID) turn every raw JID of the vector into its RFC 3491 form, so a
    /// conversation whose JIDs a client wrote in capitals lands on the same instance on both servers, and on the same
    /// instance as when written in lower case. One JID ejabberd refuses outright (a character unassigned in Unicode
    /// 3.2, which Prosody allows): it never reaches ejabberd's hash, said in docs/scale-out.md.
    /// </summary>
    [Test, CancelAfter(120_000)]
    public async Task ProsodyAndEjabberdModulesKeyRawJidsByTheSamePreppedBareJid()
    {
        var dir = Paths.TempDir("imlogger-prep-");
        try
        {
            var jids = Path.Combine(dir, "jids.txt");
            await File.WriteAllTextAsync(jids, string.Join('\n', VectorJids.Select(j => j.Raw).Append(Unassigned)) + "\n", new UTF8Encoding(false));
            var expected = VectorJids.Select(j => $"{Convert.ToHexString(Encoding.UTF8.GetBytes(j.Bare))} {Hash(j.Bare)} {Bucket(j.Bare, 2)}")
                .Append($"{Convert.ToHexString(Encoding.UTF8.GetBytes(Unassigned))} {Hash(Unassigned)} {Bucket(Unassigned, 2)}").ToArray();

            var module = await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "integrations", "prosody", "mod_imlogger_inline.lua"));
            var (hashCode, bareCode) = (LuaHash().Match(module), LuaBare().Match(module));
            Assert.That(hashCode.Success && bareCode.Success, Is.True, "route.hash or route.bare not found in mod_imlogger_inline.lua: update this test with the module");
            var lua = Path.Combine(dir, "prep.lua");
            await File.WriteAllTextAsync(lua, $$"""
                package.path = "/usr/lib/prosody/?.lua;" .. package.path;
                package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath;
                local jid = require "util.jid";
                local jid_bare, jid_prep = jid.bare, jid.prep;
                local route = {};
                {{hashCode.Value}}
                {{bareCode.Value}}
                for raw in io.lines(arg[1]) do
                	local bare = route.bare(raw);
                	local h = route.hash(bare);
                	print(string.format("%s %d %d", (bare:gsub(".", function (c) return string.format("%02X", c:byte()); end)), h, math.floor(h * 2 / 4294967296)));
                end
                """);
            await AssertLuaPrints(lua, jids, expected, "Prosody's module (Lua, Prosody's stringprep) and RFC 3491");

            var ebin = Path.Combine(dir, "modules");
            await BuildEjabberdModules(ebin);
            // ejabberd's own libraries (xmpp, stringprep: its NIF), as the server loads them.
            var eval = string.Create(CultureInfo.InvariantCulture, $$"""
                {ok, _} = application:ensure_all_started(xmpp),
                {ok, B} = file:read_file("{{jids}}"),
                [io:format("~s~n", [try jid:decode(Raw) of
                                        J -> K = mod_imlogger_lanes:bare(J),
                                             io_lib:format("~s ~B ~B", [binary:encode_hex(K), mod_imlogger_lanes:hash(K), mod_imlogger_lanes:bucket(K, 2)])
                                    catch error:{bad_jid, _} -> "refused"
                                    end])
                 || Raw <- binary:split(B, <<"\n">>, [global, trim_all])],
                halt().
                """).Replace('\n', ' ');
            await using (var erl = ProcessRunner.Start("erl", "/usr/bin/erl",
                             ["-noshell", "-pa", Path.Combine(ebin, "mod_imlogger_inline", "ebin"), "-eval", eval]))
            {
                Assert.That(await erl.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, erl.Output);
                Assert.That(erl.Lines.Where(l => l.Length > 0), Is.EqualTo(expected.SkipLast(1).Append("refused")),
                    "ejabberd's module (Erlang, ejabberd's stringprep) and RFC 3491; the unassigned character refused as a JID");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A room name with U+1F600, unassigned in Unicode 3.2: Prosody's nodeprep allows it, ejabberd's refuses the JID.</summary>
    private const string Unassigned = "room\U0001F600@conference.example.test";

    /// <summary>Runs a Lua script over an input file under lua5.4 and compares the lines it prints.</summary>
    private static async Task AssertLuaPrints(string script, string input, IEnumerable<string> expected, string what)
    {
        await using var run = ProcessRunner.Start("lua", "/usr/bin/lua5.4", [script, input]);
        Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, run.Output);
        Assert.That(run.Lines.Where(l => l.Length > 0), Is.EqualTo(expected), what);
    }

    /// <summary>Builds the ejabberd modules into <paramref name="ebin"/> with the shipped build.sh, as an operator does.</summary>
    private static async Task BuildEjabberdModules(string ebin)
    {
        await using var build = ProcessRunner.Start("build.sh", "/bin/sh", [Path.Combine(Paths.RepoRoot, "integrations", "ejabberd", "build.sh"), ebin]);
        Assert.That(await build.WaitForExitAsync(TimeSpan.FromSeconds(90)), Is.Zero, build.Output);
    }
}
