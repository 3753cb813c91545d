document.querySelector("form[data-autopost]").submit();
