using System.Xml.Linq;
using AngleSharp.Html.Parser;
using ImLogger.Sinks;
using ImLogger.Tests.DeliveryTestSupport;

namespace ImLogger.Tests.Hostile;

/// <summary>
/// What users type ends up in an e-mail: mutated hostile text and XHTML-IM through the real transcript builder.
/// Whatever the input, the archived HTML holds no active content (scripts, frames, styles, event handlers,
/// javascript: links) and no user text becomes a header of its own; and the builder never throws, because a
/// transcript it cannot build could never be delivered.
/// </summary>
public class TranscriptFuzzTests
{
    private static readonly string[] HostileText =
    [
        "hi\r\nBcc: eve@evil.test", "x\nX-Evil: 1\n\n<script>alert(1)</script>", "</pre></div><script>alert(1)</script>", "<img src=x onerror=alert(1)>",
        "=?utf-8?b?PHNjcmlwdD4=?=", "\u202Eevil", "a\0b", "?OTR:AAQD", "javascript:alert(1)", new string('x', 2000), "&lt;b&gt;&amp;", "\r\n.\r\n",
    ];

    private static readonly string[] HostileXhtml =
    [
        "<body xmlns='http://www.w3.org/1999/xhtml'><p onclick='x()' style='position:fixed'>hi <script>alert(1)</script><img src='javascript:alert(1)' onerror='x()' alt=':-)'/><a href='javascript:x()'>l</a><iframe src='http://evil.test/'/><style>p{}</style><object data='x'/></p></body>",
        "<body xmlns='http://www.w3.org/1999/xhtml'><p>hello <b>bob</b> <img src='smile.png' alt=':-)'/> <a href='https://example.test/'>link</a></p></body>",
        "<body xmlns='http://www.w3.org/1999/xhtml'><svg xmlns='http://www.w3.org/2000/svg' onload='x()'><script>alert(2)</script></svg><math><mi xlink:href='javascript:x' xmlns:xlink='http://www.w3.org/1999/xlink'>m</mi></math></body>",
        "<body xmlns='http://www.w3.org/1999/xhtml'><form action='http://evil.test/'><input name='p' value='x'/></form><meta http-equiv='refresh' content='0;url=http://evil.test/'/><base href='http://evil.test/'/></body>",
    ];

    private static readonly string[] Forbidden = ["script", "iframe", "frame", "style", "object", "embed", "form", "meta", "base", "link", "svg", "math"];

    [Test]
    public void HostileMessagesNeverBecomeActiveHtmlOrHeaders()
    {
        var builder = new TranscriptMessageBuilder("imlogger@archive.example.test");
        var mutator = new Mutator(FuzzBudget.Seed);
        var parser = new HtmlParser();
        var budget = System.Diagnostics.Stopwatch.StartNew();
        var runs = 0;
        for (; runs < FuzzBudget.MaxRuns(2000) && budget.Elapsed < FuzzBudget.Duration; runs++)
        {
            var text = mutator.MutateText(mutator.Pick(HostileText));
            var html = mutator.Mutate(XElement.Parse(mutator.Pick(HostileXhtml))).ToString(SaveOptions.DisableFormatting);
            var from = mutator.Next(4) == 0 ? "eve@example.test/a\r\nBcc: eve@evil.test" : "alice@example.test/laptop";
            var transcript = Events.OneToOne(
                Events.Chat(from, "bob@example.test", text, Events.T0, html),
                Events.Chat("bob@example.test/phone", "alice@example.test/laptop", text, Events.T0.AddSeconds(1)));
            MimeKit.MimeMessage message;
            try
            {
                message = builder.Build(transcript);
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {FuzzBudget.Seed}, run {runs}: {e.GetType().Name}: {e.Message}\ntext: {text}\nhtml: {html}\n{e.StackTrace}");
                return;
            }
            using var raw = new MemoryStream();
            message.WriteTo(raw);
            var headerBlock = System.Text.Encoding.UTF8.GetString(raw.ToArray()).Split("\r\n\r\n")[0];
            // The builder's own <head> (charset, its style sheet) is not user content; everything in <body> may be.
            var body = parser.ParseDocument(message.HtmlBody ?? "").Body!;
            var problems = new List<string>();
            if (headerBlock.Split("\r\n").Any(l => l.StartsWith("Bcc:", StringComparison.OrdinalIgnoreCase) || l.StartsWith("X-Evil:", StringComparison.OrdinalIgnoreCase)))
                problems.Add("a header injected by user text");
            problems.AddRange(body.QuerySelectorAll("*").Where(e => Forbidden.Contains(e.LocalName)).Select(e => $"<{e.LocalName}> in the archived HTML"));
            problems.AddRange(body.QuerySelectorAll("*").SelectMany(e => e.Attributes).Where(a => a.Name.StartsWith("on", StringComparison.OrdinalIgnoreCase)).Select(a => $"event handler {a.Name}"));
            problems.AddRange(body.QuerySelectorAll("*").SelectMany(e => e.Attributes)
                .Where(a => a.Name is "href" or "src" or "action" or "xlink:href" && a.Value.Trim().StartsWith("javascript:", StringComparison.OrdinalIgnoreCase))
                .Select(a => $"{a.Name}='{a.Value}'"));
            if (problems.Count > 0)
                Assert.Fail($"seed {FuzzBudget.Seed}, run {runs}: {string.Join("; ", problems)}\ntext: {text}\nhtml: {html}\n--- archived HTML ---\n{message.HtmlBody}");
        }
        TestContext.Out.WriteLine($"{runs} hostile transcripts built");
        Assert.That(runs, Is.GreaterThan(100), "the fuzz budget ran");
    }
}
