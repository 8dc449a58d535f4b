(* The OCaml side of the interop test: runs an operation script (grammar in
   script_gen.py) on a table through the real OCamlnet Netshm and prints the
   transcript that the C driver (driver.c) must print too.

   Usage: netshm_ocaml_helper [--first-line N] [--posix LOCKFILE] FILE PAGESIZE INIT SCRIPT
     FILE      a `File table, created if missing; with --posix, the name of a POSIX
               object ("/name"), OCamlnet 4.1.9's `POSIX (LOCKFILE, FILE)
     PAGESIZE  the ?pagesize passed to Netshm.manage
     INIT      an ?init hint, or "none" to pass none
     SCRIPT    the operation script
   Exit status: 0 when the whole script ran, 2 on an unexpected exception. *)

exception User_error

let first_line = ref 1

let lock_file = ref ""

let out = Buffer.create 65536

let flush_out () =
  print_string (Buffer.contents out);
  Buffer.clear out;
  flush stdout

let emit ln fmt =
  Printf.ksprintf
    (fun s ->
      Buffer.add_string out (string_of_int ln);
      Buffer.add_char out ' ';
      Buffer.add_string out s;
      Buffer.add_char out '\n';
      if Buffer.length out > 1_000_000 then flush_out ())
    fmt

let format_value (v : Netshm.int32_array) =
  let n = Bigarray.Array1.dim v in
  let b = Buffer.create (8 + (n * 6)) in
  Buffer.add_string b (Printf.sprintf "[%d]" n);
  for i = 0 to n - 1 do
    Buffer.add_char b ' ';
    Buffer.add_string b (Int32.to_string v.{i})
  done;
  Buffer.contents b

let format_values vs = String.concat " ; " (List.map format_value vs)

let value_of_words words =
  let a = Array.of_list (List.map Int32.of_string words) in
  Bigarray.Array1.of_array Bigarray.int32 Bigarray.c_layout a

(* ----------------------------------------------------------- block actions *)

(* One item of a block action: a letter, a callback (or word) index and, for
   'w', the value to write. *)
type item = { letter : char; idx : int; value : int32 }

let parse_action s =
  if s = "n" then []
  else begin
    let n = String.length s in
    let digit c = c = '-' || (c >= '0' && c <= '9') in
    let rec number j = if j < n && digit s.[j] then number (j + 1) else j in
    let rec items i acc =
      if i >= n then List.rev acc
      else begin
        let letter = s.[i] in
        let j = number (i + 1) in
        let idx = int_of_string (String.sub s (i + 1) (j - i - 1)) in
        if letter = 'w' then begin
          if j >= n || s.[j] <> ':' then failwith ("bad action " ^ s);
          let k = number (j + 1) in
          let value = Int32.of_string (String.sub s (j + 1) (k - j - 1)) in
          items k ({ letter; idx; value } :: acc)
        end
        else items j ({ letter; idx; value = 0l } :: acc)
      end
    in
    items 0 []
  end

type answer = Continue | Next_binding | Stop | Remove | Fail

(* The state of one block operation, shared by read_blocks and write_blocks. *)
type block_state = {
  tbl : Netshm.shm_table;
  key : int32;
  actions : item list array;
  ln : int;
  quiet : bool;            (* wblocks_noann: report only the result *)
  mutable binding : int;   (* index of the binding being visited *)
  mutable callback : int;  (* callback index within the binding *)
  mutable offset : int;    (* word offset of the current fragment *)
}

let current_items st =
  if st.binding < Array.length st.actions then st.actions.(st.binding) else []

let format_find tbl key =
  match Netshm.find tbl key with
  | v -> format_value v
  | exception Not_found -> "notfound"

(* Runs the side effects of the items at this callback and returns its answer. *)
let at_callback st (frag : Netshm.int32_array option) =
  let items = current_items st in
  (match frag with
  | Some f ->
      if not st.quiet then emit st.ln " frag %s" (format_value f);
      let len = Bigarray.Array1.dim f in
      List.iter
        (fun it ->
          if it.letter = 'w' && it.idx >= st.offset && it.idx < st.offset + len then
            f.{it.idx - st.offset} <- it.value)
        items;
      st.offset <- st.offset + len
  | None -> if not st.quiet then emit st.ln " end");
  let answer = ref Continue in
  List.iter
    (fun it ->
      if it.idx = st.callback then
        match it.letter with
        | 'f' -> emit st.ln " find = %s" (format_find st.tbl st.key)
        | 'm' -> (
            match Netshm.add st.tbl st.key (value_of_words []) with
            | () -> emit st.ln " modify allowed"
            | exception Failure _ -> emit st.ln " modify refused")
        | 'r' -> answer := Remove
        | 's' -> answer := Next_binding
        | 'b' -> answer := Stop
        | 'e' -> answer := Fail
        | _ -> ())
    items;
  st.callback <- st.callback + 1;
  !answer

let start_next_binding st =
  st.binding <- st.binding + 1;
  st.callback <- 0;
  st.offset <- 0

let run_blocks tbl ln key actions ~write ~announce ~quiet =
  let st =
    { tbl; key; actions; ln; quiet; binding = 0; callback = 0; offset = 0 }
  in
  let result =
    try
      if write then
        Netshm.write_blocks tbl
          (if announce then [ `Remove_binding ] else [])
          key
          (fun frag ->
            let answer = at_callback st frag in
            let ends = frag = None in
            match answer with
            | Remove ->
                if ends then start_next_binding st;
                `Remove_binding
            | Continue ->
                if ends then start_next_binding st;
                `Nop
            | Next_binding ->
                start_next_binding st;
                raise Netshm.Next
            | Stop -> raise Netshm.Break
            | Fail -> raise User_error)
      else
        Netshm.read_blocks tbl key (fun frag ->
            let answer = at_callback st frag in
            let ends = frag = None in
            match answer with
            | Remove -> failwith "r is not a read_blocks action"
            | Continue -> if ends then start_next_binding st
            | Next_binding ->
                start_next_binding st;
                raise Netshm.Next
            | Stop -> raise Netshm.Break
            | Fail -> raise User_error);
      "ok"
    with
    | User_error -> "error user"
    | Failure msg when write && not announce
                       && msg = "Netshm.write_blocks: Cannot do write operation unless announced" ->
        "error unannounced"
  in
  emit ln "result %s" result

(* ------------------------------------------------------------------ dumps *)

let sorted_keys keys = List.sort Int32.compare keys

let dump_iter tbl ln =
  let h = Hashtbl.create 1024 in
  let order = ref [] in
  Netshm.iter
    (fun k v ->
      let copy = Bigarray.Array1.create Bigarray.int32 Bigarray.c_layout (Bigarray.Array1.dim v) in
      Bigarray.Array1.blit v copy;
      match Hashtbl.find_opt h k with
      | Some l -> l := copy :: !l
      | None ->
          Hashtbl.add h k (ref [ copy ]);
          order := k :: !order)
    tbl;
  emit ln "dump length=%d" (Netshm.length tbl);
  List.iter
    (fun k -> emit ln " %ld: %s" k (format_values (List.rev !(Hashtbl.find h k))))
    (sorted_keys !order)

let dump_keys tbl ln =
  let keys = ref [] in
  Netshm.iter_keys (fun k -> keys := k :: !keys) tbl;
  emit ln "dumpk length=%d" (Netshm.length tbl);
  List.iter
    (fun k -> emit ln " %ld: %s" k (format_values (Netshm.find_all tbl k)))
    (sorted_keys !keys)

(* Reads and a modification from inside the callbacks of iter and iter_keys (at their first
   call): reading is allowed, modifying is refused. *)
let probe tbl ln key =
  emit ln "probe %ld" key;
  let first = ref true in
  let inside what =
    if !first then begin
      first := false;
      emit ln " %s: find = %s" what (format_find tbl key);
      match Netshm.add tbl key (value_of_words []) with
      | () -> emit ln " %s: modify allowed" what
      | exception Failure _ -> emit ln " %s: modify refused" what
    end
  in
  Netshm.iter (fun _ _ -> inside "iter") tbl;
  first := true;
  Netshm.iter_keys (fun _ -> inside "iter_keys") tbl

(* Netshm's documented read-modify-write idiom, group { find; replace }, retried when the
   kernel reports a deadlock (two processes both upgrading their read locks). *)
let rec increment tbl key =
  match
    Netshm.group tbl
      (fun () ->
        let v = match Netshm.find tbl key with v -> v | exception Not_found -> value_of_words [] in
        let old = if Bigarray.Array1.dim v > 0 then v.{0} else 0l in
        Netshm.replace tbl key (value_of_words [ Int32.to_string (Int32.succ old) ]))
      ()
  with
  | () -> ()
  | exception Netshm.Deadlock -> increment tbl key

(* --------------------------------------------------------------- the script *)

let run_op tbl ln words =
  match words with
  | "add" :: k :: vs -> Netshm.add tbl (Int32.of_string k) (value_of_words vs)
  | "replace" :: k :: vs -> Netshm.replace tbl (Int32.of_string k) (value_of_words vs)
  | [ "remove"; k ] -> Netshm.remove tbl (Int32.of_string k)
  | [ "find"; k ] -> emit ln "find %s = %s" k (format_find tbl (Int32.of_string k))
  | [ "mem"; k ] -> emit ln "mem %s = %b" k (Netshm.mem tbl (Int32.of_string k))
  | [ "findall"; k ] ->
      let vs = Netshm.find_all tbl (Int32.of_string k) in
      emit ln "findall %s = %s" k (if vs = [] then "none" else format_values vs)
  | [ "length" ] -> emit ln "length %d" (Netshm.length tbl)
  | [ "dump" ] -> dump_iter tbl ln
  | [ "netdump" ] ->
      emit ln "netdump";
      flush_out ();
      Netshm.dump tbl
  | [ "probe"; k ] -> probe tbl ln (Int32.of_string k)
  | [ "incr"; k; n ] ->
      let key = Int32.of_string k in
      for _ = 1 to int_of_string n do
        increment tbl key
      done;
      emit ln "incr %s %s" k n
  | [ "dumpk" ] -> dump_keys tbl ln
  | ("rblocks" | "wblocks" | "wblocks_noann") as op :: k :: acts ->
      let key = Int32.of_string k in
      emit ln "%s %s" op k;
      let actions = Array.of_list (List.map parse_action acts) in
      run_blocks tbl ln key actions ~write:(op <> "rblocks")
        ~announce:(op = "wblocks") ~quiet:(op = "wblocks_noann")
  | _ -> failwith ("bad script line " ^ string_of_int ln)

(* Runs lines until the end of the script or a group_end; a group_begin runs
   the lines up to its group_end inside Netshm.group. *)
let rec run_lines tbl ic ln =
  match input_line ic with
  | exception End_of_file -> `Eof ln
  | line -> (
      match List.filter (fun w -> w <> "") (String.split_on_char ' ' line) with
      | [] -> run_lines tbl ic (ln + 1)
      | w :: _ when w.[0] = '#' -> run_lines tbl ic (ln + 1)
      | [ "group_end" ] -> `End (ln + 1)
      | [ "group_begin" ] -> (
          match Netshm.group tbl (fun () -> run_lines tbl ic (ln + 1)) () with
          | `Eof ln' -> `Eof ln'
          | `End ln' -> run_lines tbl ic ln')
      | words ->
          run_op tbl ln words;
          run_lines tbl ic (ln + 1))

let () =
  let args = ref [] in
  Arg.parse
    [ ("--first-line", Arg.Set_int first_line, "N number the script's lines from N");
      ("--posix", Arg.Set_string lock_file, "LOCKFILE a POSIX object locked through LOCKFILE") ]
    (fun a -> args := !args @ [ a ])
    "netshm_ocaml_helper [--first-line N] [--posix LOCKFILE] FILE PAGESIZE INIT SCRIPT";
  match !args with
  | [ file; pagesize; init; script ] -> (
      let pagesize = int_of_string pagesize in
      let name = if !lock_file = "" then `File file else `POSIX (!lock_file, file) in
      let sd = Netshm.open_shm name [ Unix.O_RDWR; Unix.O_CREAT ] 0o600 in
      let tbl =
        if init = "none" then Netshm.manage ~pagesize `Record_locking sd
        else Netshm.manage ~pagesize ~init:(int_of_string init) `Record_locking sd
      in
      let ic = open_in script in
      try
        (match run_lines tbl ic !first_line with
        | `Eof _ -> ()
        | `End ln -> failwith ("group_end without group_begin before line " ^ string_of_int ln));
        close_in ic;
        Netshm.close_shm sd;
        flush_out ()
      with e ->
        flush_out ();
        Printf.printf "FATAL %s\n%!" (Printexc.to_string e);
        exit 2)
  | _ ->
      prerr_endline "usage: netshm_ocaml_helper [--first-line N] [--posix LOCKFILE] FILE PAGESIZE INIT SCRIPT";
      exit 1
