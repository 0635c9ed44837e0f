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
  var uploadImage = {
    server: holder.getAttribute('data-upload'),
    fieldName: 'file',
    maxFileSize: 10 * 1024 * 1024,
    allowedFileTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'],
    headers: { 'X-CSRF-Token': holder.getAttribute('data-csrf') },
    onError: function (file, err, res) { window.alert((res && res.message) || '图片上传失败'); },
    onFailed: function (file, res) { window.alert((res && res.message) || '图片上传失败'); }
  };
  var editor = E.createEditor({
    selector: '#editor',
    html: input.value || '<p><br></p>',
    mode: 'default',
    config: {
      placeholder: '请输入正文……',
      MENU_CONF: { uploadImage: uploadImage },
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
      excludeKeys: ['group-video', 'insertVideo', 'uploadVideo', 'emotion',
        'fullScreen', 'codeBlock', 'todo']
    }
  });
  input.hidden = true;
  holder.hidden = false;
  bar.hidden = false;
  document.body.classList.add('rich-editor');
  window.sitegroupEditor = editor;
})();
