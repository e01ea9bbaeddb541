%%% mod_imlogger_muc: the group chat side of ImLogger's ejabberd adapter, the counterpart of
%%% integrations/prosody/mod_imlogger_muc.lua (docs/inline-protocol.md, "Group chats: every occupant identified and
%%% told"). ejabberd 23.01. Not a gen_mod of its own: mod_imlogger_inline adds these hooks on each host it is loaded on
%%% and calls the rest; build.sh compiles both files into the same installed module.
%%%
%%% ejabberd's rooms are semi-anonymous by default: only moderators see occupants' real JIDs, so a logged user who is
%%% not one receives the room's stanzas from room@service/nick with nothing else. The room's process knows them, and
%%% runs two hooks with its state before it acts on what an occupant sends:
%%%  - muc_filter_presence (an occupant's presence to the room: join, status, nick change, leave) and
%%%    muc_filter_message (an occupant's message to the room): the sender's real bare JID is remembered for their
%%%    occupant JID, so that mod_imlogger_inline can put it on the held copies of the room's broadcast
%%%    (occupant-jid="..."). A nick another occupant holds is not taken over (the room refuses that presence as a
%%%    conflict); a message counts only from the occupant who holds the nick.
%%%  - ImLogger's notice to room@service/nick (from the component's JID exactly) is delivered to that occupant's
%%%    sessions as a groupchat message from the room (deliver_notice/2): ImLogger never writes to a hidden real JID.
%%% What is remembered is never removed on a leave (the room broadcasts a leave after forgetting the occupant, and a
%%% nick change as the old nick leaving); a nick taken by someone else later replaces it. At most ?MAX occupants are
%%% remembered; beyond, the table starts over (a flood of joins, not a room).

-module(mod_imlogger_muc).

-export([init/0, filter_presence/3, filter_message/3, occupant_real_jid/1, deliver_notice/2]).

-include("xmpp.hrl").
-include("logger.hrl").
-include("mod_muc_room.hrl").

-define(TABLE, imlogger_muc_occupants).
-define(MAX, 100000).

%% Called by mod_imlogger_inline:start/2: the table outlives room processes (they come and go), like the users table.
init() ->
    case ets:whereis(?TABLE) of
        undefined ->
            ets:new(?TABLE, [named_table, public, set, {read_concurrency, true}, {heir, whereis(ejabberd_gen_mod_sup), none}]),
            ok;
        _ -> ok
    end.

%% muc_filter_presence: run_fold(Packet, [StateData, Nick]) in the room's process, before the room acts on it.
filter_presence(#presence{from = #jid{} = From} = Pkt, #state{jid = Room, nicks = Nicks}, Nick) ->
    Real = jid:remove_resource(jid:tolower(From)),
    Holders = maps:get(Nick, Nicks, []),
    case lists:all(fun({U, S, _}) -> {U, S, <<"">>} == Real end, Holders) of
        true -> remember(Room, Nick, Real);
        false -> ok
    end,
    Pkt;
filter_presence(Pkt, _State, _Nick) -> Pkt.

%% muc_filter_message: run_fold(Packet, [StateData, FromNick]) in the room's process, for a message to the room.
filter_message(#message{from = #jid{} = From} = Pkt, #state{jid = Room, users = Users}, FromNick) ->
    case maps:find(jid:tolower(From), Users) of
        {ok, #user{nick = FromNick}} -> remember(Room, FromNick, jid:remove_resource(jid:tolower(From)));
        _ -> ok
    end,
    Pkt;
filter_message(Pkt, _State, _FromNick) -> Pkt.

remember(Room, Nick, Real) ->
    case jid:replace_resource(Room, Nick) of
        #jid{} = Occupant ->
            case ets:info(?TABLE, size) of
                N when is_integer(N), N >= ?MAX -> ets:delete_all_objects(?TABLE);
                _ -> ok
            end,
            catch ets:insert(?TABLE, {jid:tolower(Occupant), jid:encode(Real)});
        _ -> ok
    end.

%% The real bare JID behind an occupant JID (room@service/nick), or undefined.
occupant_real_jid(#jid{lresource = <<"">>}) -> undefined;
occupant_real_jid(#jid{} = Occupant) ->
    case catch ets:lookup(?TABLE, jid:tolower(Occupant)) of
        [{_, Real}] -> Real;
        _ -> undefined
    end;
occupant_real_jid(_) -> undefined.

%% ImLogger's notice to an occupant it knows by nickname: <message from="archive.example.test" to="room@service/nick">,
%% from filter_packet in the component's process (never the room's: get_state is a call to the room). Delivered to each
%% of the occupant's sessions as a groupchat message from the room itself (XEP-0045 "messages from the room").
deliver_notice(#message{type = error}, _RoomPid) -> {stop, drop}; % nothing to bounce back to the component
deliver_notice(#message{to = To, id = Id, body = Body} = Msg, RoomPid) ->
    Room = jid:remove_resource(To),
    Nick = To#jid.resource,
    case catch mod_muc_room:get_state(RoomPid) of
        {ok, #state{users = Users}} ->
            case [J || #user{jid = J, nick = N} <- maps:values(Users), N == Nick] of
                [] ->
                    ?INFO_MSG("ImLogger's notice to ~ts was not delivered: no such occupant (they left)", [jid:encode(To)]),
                    ejabberd_router:route_error(Msg, xmpp:err_item_not_found(<<"No such occupant">>, xmpp:get_lang(Msg)));
                Sessions when Body /= [] ->
                    [ejabberd_router:route(#message{from = Room, to = J, type = groupchat, id = Id, body = Body}) || J <- Sessions],
                    ?DEBUG("Delivered ImLogger's notice to ~ts (~B session(s))", [jid:encode(To), length(Sessions)]);
                _ -> ok
            end;
        _ ->
            ?WARNING_MSG("ImLogger's notice to ~ts was not delivered: the room did not answer", [jid:encode(To)])
    end,
    {stop, drop}.
