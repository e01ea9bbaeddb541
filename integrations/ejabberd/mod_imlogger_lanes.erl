%%% mod_imlogger_lanes: scale-out for mod_imlogger_inline (docs/scale-out.md). Several ImLogger instances share one
%%% ejabberd, each connected as its own component; every conversation goes to one of them, picked by FNV-1a (32 bits) of
%%% the conversation's key, so that no transcript is split between instances. The same key and hash as the Prosody
%%% module (route.key / route.hash in mod_imlogger_inline.lua): both servers split the same conversations the same way.
%%%
%%% One lane per instance: a gen_server of mod_imlogger_inline per component (the first one is the module's usual
%%% process, the others are named ..._lane2, ..._lane3), each with its own waiting stanzas, requests in flight, away
%%% state, back-off and reports. Nothing in the lane's state machine changes: a lane is the single-instance module
%%% speaking to its own component.
%%%
%%% Option (under mod_imlogger_inline): components: ["archive.example.test", "archive2.example.test"], every instance's
%%% component in bucket order; absent or empty, the one `component` is the only lane. Changing the list needs a restart
%%% of ejabberd (a reload keeps the lanes it started with, and says so).

-module(mod_imlogger_lanes).

-export([start/2, stop/1, reload/3, components/1, is_component/2, lane_component/2]).
-export([proc_for/5, proc_of_component/2, route_changed/3, judge/2]).
-export([hash/1, bucket/2, key/4, bare/1, describe/3]).

-include("xmpp.hrl").
-include("logger.hrl").

-define(MAX_ROOMS, 100000).

%%%===================================================================
%%% Lanes: started with the module, one process per component
%%%===================================================================
%% The lanes' components, in bucket order.
lanes_of(Opts) ->
    case [jid:nameprep(C) || C <- gen_mod:get_opt(components, Opts)] of
        [] -> [gen_mod:get_opt(component, Opts)];
        List -> List
    end.

%% Called by mod_imlogger_inline:start/2 once the first lane (the module's own process) runs: the others, and what the
%% hooks read to route (persistent_term: read for every held stanza, written at start and at a change of failure mode).
start(Host, Opts) ->
    Lanes = lanes_of(Opts),
    Component = gen_mod:get_opt(component, Opts),
    case lists:member(Component, Lanes) of
        true -> ok;
        false -> ?ERROR_MSG("mod_imlogger_inline: component ~ts is not in components ~p: list every instance's component, "
                            "this one's included (imlogger server-config writes both)", [Component, Lanes])
    end,
    persistent_term:put({?MODULE, Host}, {list_to_tuple(Lanes), gen_mod:get_opt(failure_mode, Opts)}),
    rooms_table(Host),
    lists:foreach(fun(I) -> gen_mod:start_child(mod_imlogger_inline, Host, Opts, lane_proc(Host, I)) end,
                  lists:seq(2, length(Lanes))),
    case Lanes of
        [_] -> ok;
        _ -> ?INFO_MSG("ImLogger scale-out on ~ts: each conversation goes to one of ~B instances (~ts)",
                       [Host, length(Lanes), lists:join(", ", Lanes)])
    end.

stop(Host) ->
    N = case persistent_term:get({?MODULE, Host}, undefined) of
            {Lanes, _} -> tuple_size(Lanes);
            undefined -> 1
        end,
    lists:foreach(fun(I) -> gen_mod:stop_child(lane_proc(Host, I)) end, lists:seq(2, N)),
    catch ets:delete(rooms(Host)),
    _ = persistent_term:erase({?MODULE, Host}),
    ok.

%% The lanes stay those ejabberd started with: a new list moves conversations, which a restart of every instance and of
%% ejabberd does (docs/scale-out.md, "Adding or removing an instance"). A new failure mode applies at once.
reload(Host, NewOpts, _OldOpts) ->
    {Lanes, _} = persistent_term:get({?MODULE, Host}),
    case lanes_of(NewOpts) == tuple_to_list(Lanes) of
        true -> ok;
        false -> ?WARNING_MSG("mod_imlogger_inline: components changed in the config; ejabberd keeps routing to ~ts until "
                              "it restarts (a new list moves conversations between instances: docs/scale-out.md)",
                              [lists:join(", ", tuple_to_list(Lanes))])
    end,
    persistent_term:put({?MODULE, Host}, {Lanes, gen_mod:get_opt(failure_mode, NewOpts)}),
    [gen_server:cast(P, {reload, NewOpts}) || P <- procs(Host)],
    ok.

lane_proc(Host, 1) -> gen_mod:get_module_proc(Host, mod_imlogger_inline);
lane_proc(Host, I) -> gen_mod:get_module_proc(Host, list_to_atom("mod_imlogger_inline_lane" ++ integer_to_list(I))).

procs(Host) -> [lane_proc(Host, I) || I <- lists:seq(1, tuple_size(element(1, lanes(Host))))].

lanes(Host) -> persistent_term:get({?MODULE, Host}, {{}, closed}).

%% The components of a host's lanes (empty when the module is not loaded there).
components(Host) -> tuple_to_list(element(1, lanes(Host))).

is_component(undefined, _Host) -> false;
is_component(#jid{lserver = S}, Host) -> lists:member(S, components(Host)).

%% The component of the lane process calling (from its registered name): its own, in init and at a reload.
lane_component(Host, Opts) ->
    {registered_name, Name} = process_info(self(), registered_name),
    Lanes = lanes_of(Opts),
    case [C || {I, C} <- lists:zip(lists:seq(1, length(Lanes)), Lanes), lane_proc(Host, I) == Name] of
        [C] -> C;
        [] -> gen_mod:get_opt(component, Opts)
    end.

proc_of_component(Host, Component) ->
    {Lanes, _} = lanes(Host),
    lane_proc(Host, index_of(Component, tuple_to_list(Lanes), 1)).

%% Scaled out, what a lane's log line adds to name its instance (" [archive2.example.test's share]"); nothing otherwise.
describe(Host, Component, What) ->
    case lanes(Host) of
        {{_}, _} -> "";
        _ -> [" [", Component, What, "]"]
    end.

index_of(C, [C | _], I) -> I;
index_of(C, [_ | Rest], I) -> index_of(C, Rest, I + 1);
index_of(_C, [], _I) -> 1.

%%%===================================================================
%%% Routing: which lane a held stanza goes to
%%%===================================================================
%% The lane process for a held stanza of User (its bare JID), Dir in or out. Fail-closed: the key's lane, always (its
%% share waits for it while it is away). Fail-open: the first lane from the key's on whose component is connected (a
%% stopped instance's share is re-hashed to the next one up: logged, not a gap); none up, the key's own (which
%% delivers unlogged and reports the gap, as one instance does).
proc_for(Host, Dir, User, Pkt, El) ->
    case lanes(Host) of
        {{_}, _} -> lane_proc(Host, 1);
        {Lanes, Mode} ->
            N = tuple_size(Lanes),
            First = bucket(key(Host, Dir, User, {Pkt, El}), N),
            I = case Mode of
                    open -> first_up(Lanes, First, 0, N);
                    closed -> First
                end,
            lane_proc(Host, I + 1)
    end.

%% The component that judges a sign-in of User (approved clients, mod_imlogger_signin): the instance that owns the
%% conversation of the user with the host, where a refused sign-in is archived (docs/scale-out.md, "Approved clients at
%% sign-in"). Fail-closed, that one (away, the check waits for it); fail-open, the first from it that is connected.
-spec judge(binary(), binary()) -> binary().
judge(Host, User) ->
    case lanes(Host) of
        {{}, _} -> gen_mod:get_module_opt(Host, mod_imlogger_inline, component); % stopping: no lanes any more
        {{C}, _} -> C;
        {Lanes, Mode} ->
            N = tuple_size(Lanes),
            First = bucket(pair(User, Host), N),
            I = case Mode of
                    open -> first_up(Lanes, First, 0, N);
                    closed -> First
                end,
            element(I + 1, Lanes)
    end.

pair(A, B) when B < A -> <<B/binary, " ", A/binary>>;
pair(A, B) -> <<A/binary, " ", B/binary>>.

first_up(_Lanes, First, N, N) -> First;
first_up(Lanes, First, Step, N) ->
    I = (First + Step) rem N,
    case ejabberd_router:is_my_route(element(I + 1, Lanes)) of
        true -> I;
        false -> first_up(Lanes, First, Step + 1, N)
    end.

%% The conversation a held stanza belongs to, as ImLogger keys its transcripts: the room's bare JID for group chat and for
%% private messages through a room (ImLogger keys those as a pair with the occupant: routing them by the room keeps that
%% transcript on the room's instance), otherwise the two bare JIDs sorted bytewise and joined by a space; a stanza to the
%% user's own account is the pair of the user with itself.
key(Host, Dir, User, {Pkt, El}) ->
    Peer = case Dir of out -> xmpp:get_to(Pkt); in -> xmpp:get_from(Pkt) end,
    Bare = case Peer of
               #jid{} -> bare(Peer);
               undefined -> User
           end,
    case Bare /= User andalso is_room(Host, Bare, Peer, El) of
        true -> Bare;
        false -> pair(User, Bare)
    end.

%% The bare JID a key holds: the JID's nodeprep'd localpart and nameprep'd domain (jid:decode prepped them; lower case,
%% NFKC), byte for byte what the Prosody module's route.bare gives (the shared test vector checks both on raw JIDs).
-spec bare(jid()) -> binary().
bare(#jid{} = Peer) -> jid:encode(jid:remove_resource(jid:tolower(Peer))).

%% Rooms are learned as they are seen, as ImLogger learns them: a MUC service of this server, a groupchat message, a join
%% or a room's presence (muc, muc#user); a room on another server is known from the logged user's join on.
is_room(Host, Bare, #jid{luser = Node, lserver = Domain}, #xmlel{name = Name, attrs = Attrs, children = Children}) ->
    Table = rooms(Host),
    case ets:member(Table, Bare) of
        true -> true;
        false ->
            Room = Node /= <<"">> andalso
                (is_muc_service(Domain)
                 orelse (Name == <<"message">> andalso fxml:get_attr_s(<<"type">>, Attrs) == <<"groupchat">>)
                 orelse lists:any(fun(#xmlel{name = <<"x">>, attrs = A}) ->
                                          lists:member(fxml:get_attr_s(<<"xmlns">>, A),
                                                       [<<"http://jabber.org/protocol/muc">>, <<"http://jabber.org/protocol/muc#user">>]);
                                     (_) -> false
                                  end, Children)),
            Room andalso learn(Table, Bare),
            Room
    end.

learn(Table, Bare) ->
    _ = ets:info(Table, size) >= ?MAX_ROOMS andalso ets:delete_all_objects(Table),
    ets:insert(Table, {Bare}).

%% A MUC service of this server: a route of one of its hosts, listed in that host's mod_muc hosts.
is_muc_service(Domain) ->
    case ejabberd_router:host_of_route(Domain) of
        {ok, Host} when Host /= Domain ->
            gen_mod:is_loaded(Host, mod_muc) andalso lists:member(Domain, gen_mod:get_module_opt_hosts(Host, mod_muc));
        _ -> false
    end.

rooms(Host) -> gen_mod:get_module_proc(Host, imlogger_inline_rooms).

rooms_table(Host) ->
    Table = rooms(Host),
    catch ets:delete(Table),
    ets:new(Table, [named_table, public, set, {read_concurrency, true}, {heir, whereis(ejabberd_gen_mod_sup), none}]).

%% FNV-1a, 32 bits, over the key's bytes (offset 2166136261, prime 16777619).
-spec hash(binary()) -> non_neg_integer().
hash(Key) -> hash(Key, 2166136261).

hash(<<B, Rest/binary>>, H) -> hash(Rest, ((H bxor B) * 16777619) band 16#FFFFFFFF);
hash(<<>>, H) -> H.

%% 0-based: the hash's high bits pick the bucket (FNV-1a's low bits are weak: its parity is the parity of the key's bytes).
-spec bucket(binary(), pos_integer()) -> non_neg_integer().
bucket(Key, N) -> (hash(Key) * N) bsr 32.

%%%===================================================================
%%% The components coming and going (route_registered / route_unregistered)
%%%===================================================================
%% Scaled out and fail-open, an instance that goes has its share re-hashed (proc_for/5 reads the route): said once here.
route_changed(Host, Domain, component_disconnected) ->
    case lanes(Host) of
        {Lanes, open} when tuple_size(Lanes) > 1 ->
            ?WARNING_MSG("ImLogger ~ts is not connected: its share goes to the other instances meanwhile (fail-open re-hash)", [Domain]);
        _ -> ok
    end;
route_changed(Host, Domain, component_connected) ->
    case lanes(Host) of
        {Lanes, open} when tuple_size(Lanes) > 1 ->
            ?INFO_MSG("ImLogger ~ts is connected: its share returns to it", [Domain]);
        _ -> ok
    end.
