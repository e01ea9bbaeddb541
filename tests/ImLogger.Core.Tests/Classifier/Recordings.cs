using System.Xml;
using System.Xml.Linq;

namespace ImLogger.Tests.Classifier;

/// <summary>Reads a recorded component stream (Resources/*.xml) as the top-level stanzas the component received.</summary>
internal static class Recordings
{
    public static IReadOnlyList<XElement> Stanzas(string name)
    {
        using var stream = typeof(Recordings).Assembly.GetManifestResourceStream($"ImLogger.Core.Tests.Resources.{name}")
            ?? throw new InvalidOperationException($"no embedded resource {name}");
        var doc = XDocument.Load(XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit }));
        return doc.Root!.Elements().Where(e => e.Name.LocalName != "handshake").ToList();
    }
}
