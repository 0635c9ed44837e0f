// The article editor: wangEditor (vendored) over the form's body textarea. Without JavaScript
// the textarea itself is the editor; with it, the textarea is hidden and kept in sync. Pasted
// HTML (from Word, web pages) keeps its structure — paragraphs, headings, lists, tables, bold —
// while styles, classes and Office markup are dropped here and by the server's sanitiser.
(function () {
  var input = document.getElementById('body-input');
  var holder = document.getElementById('editor');
  var bar = document.getElementById('editor-toolbar');
  if (!input || !holder || !bar || !window.wangEditor) return;
  var E = window.wangEditor;
  function clean(html) {
    return html
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<\/?(o|w|m|v):[^>]*>/gi, '')
      .replace(/\s(class|style|lang|align)="[^"]*"/gi, '')
      .replace(/<span>([\s\S]*?)<\/span>/gi, '$1');
  }
  var editor = E.createEditor({
    selector: '#editor',
    html: input.value || '<p><br></p>',
    mode: 'default',
    config: {
      placeholder: '请输入正文……',
      onChange: function (ed) { input.value = ed.getHtml(); },
      customPaste: function (ed, event) {
        var html = event.clipboardData && event.clipboardData.getData('text/html');
        if (!html) return true; // plain text: the editor's own handling
        ed.dangerouslyInsertHtml(clean(html));
        event.preventDefault();
        return false;
      }
    }
  });
  E.createToolbar({
    editor: editor,
    selector: '#editor-toolbar',
    mode: 'default',
    config: {
      excludeKeys: ['group-video', 'insertVideo', 'uploadVideo', 'uploadImage', 'emotion',
        'fullScreen', 'codeBlock', 'todo']
    }
  });
  input.hidden = true;
  holder.hidden = false;
  bar.hidden = false;
  document.body.classList.add('rich-editor');
  window.sitegroupEditor = editor;
})();
