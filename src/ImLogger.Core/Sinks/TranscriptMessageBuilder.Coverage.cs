using ImLogger.Classifier;
using ImLogger.Conversations;

namespace ImLogger.Sinks;

public sealed partial class TranscriptMessageBuilder
{
    /// <summary>The longest text of an unclassified event shown on its line: a coverage event's list of what no other
    /// event carried (<see cref="CoverageCheck.MaxListedText"/>) or an unrecognised stanza's readable text, whole, so
    /// that every word is searchable in the text part; the raw XML beside it is cut sooner.</summary>
    private const int MaxUnclassifiedTextShown = CoverageCheck.MaxListedText + 1000;

    /// <summary>What an unclassified event says after its actor: " sent a stanza the archive has no rule for (its text)",
    /// or for the coverage pass's event " sent, in the same stanza, more content: body [de]: …".</summary>
    private static string UnclassifiedSentence(ConversationEvent e)
    {
        var text = HeaderValue(e.Text, MaxUnclassifiedTextShown);
        if (text.StartsWith(CoverageCheck.Label, StringComparison.Ordinal)) return " sent, in the same stanza, " + text;
        return " sent a stanza the archive has no rule for" + (text.Length == 0 ? "" : " (" + text + ")");
    }
}
