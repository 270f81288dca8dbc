# The part of the imgpipe bash completion that is not data: scripts/completion.mjs puts the
# generated tables (_imgpipe_subcommands, _imgpipe_spec, _imgpipe_transport_path,
# _imgpipe_value_argument, _imgpipe_transports) before it.
# shellcheck shell=bash

# _imgpipe_words sets _imgpipe_words and _imgpipe_cword from COMP_WORDS and COMP_CWORD, joining
# again what bash split at COMP_WORDBREAKS characters (oci:layout, --format=oci, NAME@DIGEST).
_imgpipe_words() {
  _imgpipe_words=() _imgpipe_cword=0
  local line='' i w rest gap sync=''
  if [[ -n ${COMP_LINE+set} ]]; then line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}} sync=1; fi
  for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
    w=${COMP_WORDS[i]} gap=1
    if [[ -n $sync ]]; then
      rest=${line#"${line%%[![:space:]]*}"}
      gap=$((${#line} - ${#rest}))
      if [[ $rest == "$w"* ]]; then line=${rest:${#w}}; else sync='' gap=1; fi
    fi
    if ((i > 0 && gap == 0)) && [[ $w == [:=@]* || ${_imgpipe_words[-1]} == *[:=@] ]]; then
      _imgpipe_words[-1]+=$w
    else
      _imgpipe_words+=("$w")
    fi
    ((i == COMP_CWORD)) && _imgpipe_cword=$((${#_imgpipe_words[@]} - 1))
  done
  if ((COMP_CWORD >= ${#COMP_WORDS[@]})); then
    _imgpipe_words+=('')
    _imgpipe_cword=$((${#_imgpipe_words[@]} - 1))
  fi
  return 0
}

# _imgpipe_kind KIND WORD adds to _imgpipe_c the completions of WORD as KIND (a,b,c, @file, @dir, @ref).
_imgpipe_kind() {
  local kind=$1 word=$2 t path names
  case $kind in
    '' | @none) ;;
    @file | @dir)
      _imgpipe_files=1
      if [[ $kind == @dir ]]; then mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -d -- "$word")
      else mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -f -- "$word"); fi ;;
    @ref)
      if [[ $word != *:* ]]; then
        mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -W "$_imgpipe_transports" -- "$word")
        _imgpipe_nospace=1
        return
      fi
      t=${word%%:*} path=${word#*:}
      [[ $t == docker && $path != //* ]] && { mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -W docker:// -- "$word"); _imgpipe_nospace=1; return; }
      _imgpipe_transport_path "$t"
      [[ -z $_imgpipe_w ]] && return
      if [[ $t == oci && $path == *:* && -f ${path%%:*}/index.json ]]; then
        # oci:PATH:NAME: the names in the layout's index.
        names=$(grep -o '"org\.opencontainers\.image\.ref\.name" *: *"[^"]*"' "${path%%:*}/index.json" 2>/dev/null | sed 's/.*"\([^"]*\)"$/\1/')
        mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -P "$t:${path%%:*}:" -W "$names" -- "${path#*:}")
        return
      fi
      _imgpipe_files=1
      local flag=-f
      [[ $_imgpipe_w == @dir ]] && flag=-d
      mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -P "$t:" $flag -- "$path") ;;
    *) mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -W "${kind//,/ }" -- "$word") ;;
  esac
}

# _imgpipe_flag_kind FLAG sets _imgpipe_k to FLAG's value kind and returns 0 when FLAG takes a value (in _imgpipe_flags).
_imgpipe_flag_kind() {
  local w
  for w in $_imgpipe_flags; do
    case $w in
      "$1="*) _imgpipe_k=${w#*=}; return 0 ;;
      "$1") return 1 ;;
    esac
  done
  return 1
}

# _imgpipe_complete is the completion function of every imgpipe command.
_imgpipe_complete() {
  local cmd=${COMP_WORDS[0]##*/} _imgpipe_words _imgpipe_cword _imgpipe_w _imgpipe_a _imgpipe_k
  local _imgpipe_c=() _imgpipe_files='' _imgpipe_nospace='' _imgpipe_flags subs sub='' i j w cur expect='' dashdash=''
  local pos=()
  COMPREPLY=()
  _imgpipe_words
  cur=${_imgpipe_words[_imgpipe_cword]}
  _imgpipe_subcommands "$cmd"
  subs=$_imgpipe_w
  _imgpipe_spec "$cmd" ''
  _imgpipe_flags=$_imgpipe_w
  # The words before the cursor: flags (and their values) and arguments, the first the subcommand.
  for ((i = 1; i < _imgpipe_cword; i++)); do
    w=${_imgpipe_words[i]}
    if [[ -n $expect ]]; then expect=''; continue; fi
    if [[ -z $dashdash ]]; then
      case $w in
        --) dashdash=1; continue ;;
        --*=*) continue ;;
        --*) _imgpipe_flag_kind "$w" && expect=$w; continue ;;
        -?*)
          for ((j = 1; j < ${#w}; j++)); do
            if _imgpipe_flag_kind "-${w:j:1}"; then
              ((j == ${#w} - 1)) && expect=-${w:j:1}
              break
            fi
          done
          continue ;;
      esac
    fi
    pos+=("$w")
  done
  [[ -n $subs && ${#pos[@]} -gt 0 && " $subs " == *" ${pos[0]} "* ]] && sub=${pos[0]}
  if [[ -n $sub ]]; then _imgpipe_spec "$cmd" "$sub"; _imgpipe_flags=$_imgpipe_w; fi
  if [[ -n $expect ]]; then
    _imgpipe_flag_kind "$expect"
    _imgpipe_kind "$_imgpipe_k" "$cur"
  elif [[ -z $dashdash && $cur == --*=* ]]; then
    local name=${cur%%=*} value=${cur#*=} before=${#_imgpipe_c[@]}
    if _imgpipe_flag_kind "$name"; then _imgpipe_kind "$_imgpipe_k" "$value"
    elif [[ " $_imgpipe_flags " == *" $name "* ]]; then mapfile -t -O ${#_imgpipe_c[@]} _imgpipe_c < <(compgen -W 'true false' -- "$value"); fi
    for ((i = before; i < ${#_imgpipe_c[@]}; i++)); do _imgpipe_c[i]=$name=${_imgpipe_c[i]}; done
  elif [[ -z $dashdash && $cur == -* ]]; then
    local words=() f
    for f in $_imgpipe_flags; do words+=("${f%%=*}"); done
    mapfile -t _imgpipe_c < <(compgen -W "${words[*]}" -- "$cur")
  elif [[ -n $subs && ${#pos[@]} -eq 0 ]]; then
    mapfile -t _imgpipe_c < <(compgen -W "$subs" -- "$cur")
  else
    # The argument's kind: its place among the arguments after the subcommand.
    local n=${#pos[@]} kinds kind
    [[ -n $sub ]] && n=$((n - 1))
    read -r -a kinds <<< "$_imgpipe_a"
    if ((${#kinds[@]} > 0)); then
      if ((n < ${#kinds[@]})); then kind=${kinds[n]}
      elif [[ ${kinds[-1]} == *... ]]; then kind=${kinds[-1]}
      else kind=none; fi
      kind=${kind%...}
      if [[ $kind == by:* ]]; then
        # The value of the flag that names this argument's kind (img-sync --src/-s, --dest/-d).
        local spellings=${kind#by:} value='' s
        for ((i = 1; i < _imgpipe_cword; i++)); do
          w=${_imgpipe_words[i]}
          for s in ${spellings//,/ }; do
            case $w in
              "$s="*) value=${w#*=} ;;
              "$s") value=${_imgpipe_words[i + 1]-} ;;
            esac
          done
        done
        _imgpipe_value_argument "$value"
        kind=$_imgpipe_w
      else
        kind=@$kind
      fi
      _imgpipe_kind "$kind" "$cur"
    fi
  fi
  # Bash replaces only the part of the word after its last COMP_WORDBREAKS character: drop what comes before.
  local wb=${COMP_WORDBREAKS-} k c prefix=''
  for ((k = ${#cur} - 1; k >= 0; k--)); do
    c=${cur:k:1}
    if [[ $c == [:=@] && $wb == *"$c"* ]]; then prefix=${cur:0:k+1}; break; fi
  done
  for c in "${_imgpipe_c[@]}"; do COMPREPLY+=("${c#"$prefix"}"); done
  [[ -n $_imgpipe_files ]] && compopt -o filenames 2>/dev/null
  [[ -n $_imgpipe_nospace ]] && compopt -o nospace 2>/dev/null
  return 0
}
