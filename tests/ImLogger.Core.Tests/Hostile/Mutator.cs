using System.Text;
using System.Xml.Linq;

namespace ImLogger.Tests.Hostile;

/// <summary>
/// The fuzz budget: a few seconds and seed 8 in the suite; IMLOGGER_FUZZ_SECONDS and IMLOGGER_FUZZ_SEED make a
/// long run with other mutations (e.g. <c>IMLOGGER_FUZZ_SECONDS=600 IMLOGGER_FUZZ_SEED=$RANDOM dotnet test --filter Hostile</c>).
/// </summary>
internal static class FuzzBudget
{
    public static int Seed => int.TryParse(Environment.GetEnvironmentVariable("IMLOGGER_FUZZ_SEED"), out var s) ? s : 8;

    public static TimeSpan Duration => double.TryParse(Environment.GetEnvironmentVariable("IMLOGGER_FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s)
        ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(3);

    /// <summary>In the suite the run count is capped too, so a fast machine does not spend the whole budget.</summary>
    public static int MaxRuns(int inSuite) => Environment.GetEnvironmentVariable("IMLOGGER_FUZZ_SECONDS") == null ? inSuite : int.MaxValue;
}

/// <summary>
/// A seeded mutator for fuzzing: structural mutations of well-formed stanzas (what a buggy or hostile client can
/// get past the server's parser) and text mutations of documents. Same seed, same mutations, so a failure replays.
/// </summary>
internal sealed class Mutator(int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>Values that have broken JID parsers, type switches and renderers elsewhere.</summary>
    private static readonly string[] OddValues =
    [
        "", " ", "@", "/", "a@b@c", "@example.test", "alice@", "alice@example.test/", "alice@example.test//x", "ALICE@EXAMPLE.TEST",
        "alice@example.test", "bob@example.test/laptop", "example.test", "archive.example.test", "conference.example.test",
        "lobby@conference.example.test", "lobby@conference.example.test/", "lobby@conference.example.test/alice", "ä@ß.test/ü",
        "chat", "groupchat", "error", "headline", "normal", "unavailable", "subscribe", "get", "set", "result", "bogus",
        "?OTR:AAQD", "<b>bold</b>", "</div><script>alert(1)</script>", "a\r\nBcc: eve@evil.test", "-1", "0", "99999999999999999999",
        "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "not-a-date", "NaN", new string('x', 5000), "\u202Eevil", "\uFEFF",
    ];

    private static readonly string[] Names =
    [
        "message", "presence", "iq", "body", "html", "x", "forwarded", "item", "status", "subject", "thread", "file", "reason", "jingle",
        "content", "description", "invite", "decline", "propose", "proceed", "retract", "reject", "finish", "replace", "encrypted", "url", "query",
    ];

    private static readonly string[] Namespaces =
    [
        "jabber:client", "urn:xmpp:forward:0", "http://jabber.org/protocol/muc", "http://jabber.org/protocol/muc#user", "jabber:x:conference",
        "http://jabber.org/protocol/xhtml-im", "http://www.w3.org/1999/xhtml", "urn:xmpp:jingle:1", "urn:xmpp:jingle-message:0", "urn:xmpp:jingle:apps:rtp:1",
        "urn:xmpp:jingle:apps:file-transfer:5", "http://jabber.org/protocol/si", "jabber:x:oob", "urn:xmpp:message-correct:0", "urn:xmpp:message-retract:0",
        "eu.siacs.conversations.axolotl", "urn:xmpp:omemo:2", "jabber:x:encrypted", "urn:xmpp:eme:0", "urn:example:unknown", "",
    ];

    public int Next(int max) => _random.Next(max);

    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    /// <summary>A deep copy of <paramref name="stanza"/> with one to four structural mutations.</summary>
    public XElement Mutate(XElement stanza)
    {
        var copy = new XElement(stanza);
        for (var n = 1 + _random.Next(4); n > 0; n--)
        {
            var all = copy.DescendantsAndSelf().ToList();
            var target = Pick(all);
            switch (_random.Next(8))
            {
                case 0 when target.Attributes().Any(a => !a.IsNamespaceDeclaration):
                    Pick(target.Attributes().Where(a => !a.IsNamespaceDeclaration).ToList()).Remove();
                    break;
                case 1:
                    target.SetAttributeValue(Pick(["from", "to", "type", "id", "xmlns", "jid", "nick", "name", "size", "action", "sid", "role", "affiliation", "code"]) switch
                    {
                        "xmlns" => "x-ns", // an xmlns attribute cannot be set through SetAttributeValue; a look-alike is harmless
                        var a => a,
                    }, Pick(OddValues));
                    break;
                case 2 when target != copy:
                    target.Remove();
                    break;
                case 3 when target != copy:
                    target.AddAfterSelf(new XElement(target));
                    break;
                case 4:
                    target.Name = XName.Get(Pick(Names), _random.Next(2) == 0 ? target.Name.NamespaceName : Pick(Namespaces));
                    // A parsed element's default-namespace declaration always matches its name; keep it so, or the
                    // tree is one no parser can produce (and XElement cannot even serialise it).
                    target.Attribute("xmlns")?.Remove();
                    break;
                case 5:
                    if (target.HasElements) Pick(target.Elements().ToList()).Value = Pick(OddValues);
                    else target.Value = Pick(OddValues);
                    break;
                case 6:
                    target.Add(new XElement(XName.Get(Pick(Names), Pick(Namespaces)), new XAttribute("from", Pick(OddValues)), Pick(OddValues)));
                    break;
                default:
                    // Graft a piece of another part of the same stanza somewhere else (nesting the unexpected).
                    var donor = Pick(all);
                    if (!donor.AncestorsAndSelf().Contains(target) && !target.AncestorsAndSelf().Contains(donor)) target.Add(new XElement(donor));
                    break;
            }
        }
        return copy;
    }

    /// <summary><paramref name="text"/> with one to four text mutations (deletions, duplications, odd insertions).</summary>
    public string MutateText(string text)
    {
        var s = new StringBuilder(text);
        for (var n = 1 + _random.Next(4); n > 0 && s.Length > 0; n--)
        {
            var at = _random.Next(s.Length);
            var length = Math.Min(s.Length - at, 1 + _random.Next(40));
            switch (_random.Next(5))
            {
                case 0: s.Remove(at, length); break;
                case 1: s.Insert(_random.Next(s.Length), s.ToString(at, length)); break;
                case 2:
                    s.Insert(at, Pick(["<", ">", "&", "\"", "'", "=", "&#0;", "&#xD800;", "]]>", "<!DOCTYPE x [<!ENTITY a 'b'>]>", "&a;", "<!--", "\u00e9", "\U0001F600", " ", "\n"]));
                    break;
                case 3:
                    // Replace one attribute value with an odd one.
                    var quote = s.ToString().IndexOf("=\"", at, StringComparison.Ordinal);
                    if (quote < 0) break;
                    var end = s.ToString().IndexOf('"', quote + 2);
                    if (end < 0) break;
                    s.Remove(quote + 2, end - quote - 2).Insert(quote + 2, Pick(OddValues.Concat(["../../../etc/passwd", "/dev/null", "0s", "1h", "-5m", "99999d", "true", "off", "on", "1e9"]).ToList()).Replace("\"", "&quot;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal));
                    break;
                default: s[at] = (char)(' ' + _random.Next(95)); break;
            }
        }
        return s.ToString();
    }
}
