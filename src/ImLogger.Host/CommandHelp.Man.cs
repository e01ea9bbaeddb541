using System.Text;

namespace ImLogger.Host;

internal static partial class CommandHelp
{
    /// <summary>
    /// <c>imlogger help --man</c>: the overview and every command's usage text as a man(7) page, so the packaged
    /// <c>man imlogger</c> is the program's own help and can never drift from it.
    /// </summary>
    public static string ManPage(string overview)
    {
        var version = Version["imlogger ".Length..];
        var page = new StringBuilder();
        page.AppendLine($".TH IMLOGGER 1 \"\" \"imlogger {Roff(version)}\" \"ImLogger\"");
        page.AppendLine(".SH NAME");
        page.AppendLine("imlogger \\- compliance logging for XMPP, as an external component (XEP-0114)");
        page.AppendLine(".SH SYNOPSIS");
        page.AppendLine(".B imlogger");
        page.AppendLine("\\fICOMMAND\\fR [\\fIOPTIONS\\fR]");
        page.AppendLine(".SH DESCRIPTION");
        Verbatim(page, overview);
        page.AppendLine(".SH COMMANDS");
        foreach (var command in Commands)
        {
            page.AppendLine($".SS {Roff(command)}");
            Verbatim(page, Texts[command]);
        }
        foreach (var (command, text) in SpoolSubcommands)
        {
            page.AppendLine($".SS {Roff(command)}");
            Verbatim(page, text);
        }
        page.AppendLine(".SH FILES");
        page.AppendLine(".TP");
        page.AppendLine($".I {DefaultConfig}");
        page.AppendLine("the config read when \\-\\-config is not given");
        page.AppendLine(".TP");
        page.AppendLine(".I /etc/imlogger/imlogger.env");
        page.AppendLine("the component secret, read by the systemd unit");
        page.AppendLine(".TP");
        page.AppendLine(".I /var/lib/imlogger");
        page.AppendLine("the spool and the local archive");
        page.AppendLine(".SH SEE ALSO");
        page.AppendLine("/usr/share/doc/imlogger/README.md, /usr/share/doc/imlogger/admin-guide.md, prosodyctl(1)");
        return page.ToString();
    }

    // The help texts are laid out for a terminal: keep their line breaks and columns (no filling), escape what roff
    // would read as a request or an escape.
    private static void Verbatim(StringBuilder page, string text)
    {
        page.AppendLine(".nf");
        foreach (var line in text.Replace("\r", "").TrimEnd().Split('\n'))
        {
            var escaped = Roff(line);
            page.AppendLine(escaped.StartsWith('.') || escaped.StartsWith('\'') ? "\\&" + escaped : escaped);
        }
        page.AppendLine(".fi");
    }

    private static string Roff(string text) => text.Replace("\\", "\\e").Replace("-", "\\-");
}
