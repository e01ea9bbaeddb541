using System.Xml.Linq;

namespace ImLogger.Envelope;

/// <summary>XML namespaces the pipeline reads.</summary>
public static class Ns
{
    public static readonly XNamespace Component = "jabber:component:accept";
    public static readonly XNamespace Client = "jabber:client";
    public static readonly XNamespace Forward = "urn:xmpp:forward:0";
    public static readonly XNamespace Delay = "urn:xmpp:delay";
    public static readonly XNamespace XhtmlIm = "http://jabber.org/protocol/xhtml-im";
    public static readonly XNamespace Xhtml = "http://www.w3.org/1999/xhtml";
    public static readonly XNamespace Muc = "http://jabber.org/protocol/muc";
    public static readonly XNamespace MucUser = "http://jabber.org/protocol/muc#user";
    public static readonly XNamespace Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
}
