using System.Globalization;
using System.Xml.Linq;

namespace ImLogger.Xmpp;

/// <summary>
/// The marks <see cref="ComponentConnection"/> puts into a stanza it could not read whole because it was over a
/// per-stanza limit (<see cref="ComponentConnectionOptions.MaxStanzaBytes"/>, <see cref="MaxDepth"/>). Such a stanza is
/// still delivered, alone, and the stream goes on: its tree is kept up to the limit (the envelope and the inner
/// stanza's from, to, type and id stay visible), and
/// <list type="bullet">
/// <item>where content was dropped, a <c>&lt;cut xmlns="urn:imlogger:limits:0" reason="depth|size"&gt;</c> child holds
/// the first kilobyte of the text that was skipped there;</item>
/// <item>the top-level element gets a last child <c>&lt;over-limit xmlns="urn:imlogger:limits:0" reason="depth size"
/// bytes=".." depth=".." max-bytes=".." max-depth=".."/&gt;</c>: what the whole stanza measured on the raw stream.</item>
/// </list>
/// Documented in docs/tap-mode.md and docs/inline-protocol.md ("Limits").
/// </summary>
/// <remarks>A client can write elements in this namespace too; only marks the reader made count (they carry an
/// in-memory annotation no XML can forge), so <see cref="Read"/> and <see cref="IsCut"/> ignore anything else.</remarks>
public static class StanzaLimits
{
    /// <summary>The namespace of the marks.</summary>
    public static readonly XNamespace Namespace = "urn:imlogger:limits:0";

    /// <summary>The summary mark, the last child of the top-level element.</summary>
    public static readonly XName OverLimit = Namespace + "over-limit";

    /// <summary>The mark where content was dropped.</summary>
    public static readonly XName Cut = Namespace + "cut";

    /// <summary>Deepest element nesting kept in one stanza. Real stanzas nest a dozen levels (XHTML-IM bodies a few
    /// more); later stages (serialisation, the HTML sanitiser) walk trees recursively, so a deeper subtree is skipped.</summary>
    public const int MaxDepth = 128;

    /// <summary>Text kept of what was skipped at each cut.</summary>
    public const int SampleChars = 1024;

    /// <summary>Marks made by the reader carry this annotation; XML text cannot.</summary>
    internal sealed class ReaderMade
    {
        public static readonly ReaderMade Instance = new();
    }

    /// <summary>The summary of a stanza the reader marked as over a limit; null for a stanza read whole (or one whose
    /// marks were written by someone else).</summary>
    public static StanzaOverLimit? Read(XElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        var mark = stanza.Elements(OverLimit).LastOrDefault(e => e.Annotation<ReaderMade>() != null);
        if (mark == null)
            return null;
        var reason = ((string?)mark.Attribute("reason") ?? "").Split(' ');
        return new StanzaOverLimit(reason.Contains("size"), reason.Contains("depth"),
            Number(mark, "bytes"), (int)Number(mark, "depth"), Number(mark, "max-bytes"), (int)Number(mark, "max-depth"));
    }

    /// <summary>True if content was dropped inside <paramref name="element"/> (a reader-made cut below it).</summary>
    public static bool IsCut(XElement element)
    {
        ArgumentNullException.ThrowIfNull(element);
        return element.Descendants(Cut).Any(e => e.Annotation<ReaderMade>() != null);
    }

    internal static XElement Mark(XName name) => WithAnnotation(new XElement(name));

    private static XElement WithAnnotation(XElement e)
    {
        e.AddAnnotation(ReaderMade.Instance);
        return e;
    }

    private static long Number(XElement mark, string name) =>
        long.TryParse((string?)mark.Attribute(name), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
}

/// <summary>What a stanza over a per-stanza limit measured.</summary>
/// <param name="TooLarge">Larger than <paramref name="MaxBytes"/>: everything after that point was skipped.</param>
/// <param name="TooDeep">Nested deeper than <paramref name="MaxDepth"/>: the deeper subtrees were skipped.</param>
/// <param name="Bytes">The whole stanza's size on the raw stream (to within 4 KiB).</param>
/// <param name="Depth">The deepest nesting in the whole stanza (the top-level element is 1).</param>
/// <param name="MaxBytes">The size limit in force.</param>
/// <param name="MaxDepth">The nesting limit in force.</param>
public sealed record StanzaOverLimit(bool TooLarge, bool TooDeep, long Bytes, int Depth, long MaxBytes, int MaxDepth);
